//! One thread that records new ledger entries for every async caller, in batches.
//!
//! A share is acknowledged only after its entry is committed (a SIGKILL right after the answer
//! must not lose it). Recording each entry from its own blocking-pool thread cost two thread
//! hand-offs per share, and batching those threads behind a condition variable woke every
//! waiter after each commit; under load that scheduling, not the disk, was most of a share's
//! cost. Here async callers queue their entry and await a one-shot answer; the writer takes
//! everything queued so far, hands it to the store as one batch (one SQLite transaction) and
//! answers each caller. A lone share pays one hand-off each way; a burst shares one commit.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::{LedgerEntry, LedgerError, Recorded, ResilientLedger};

/// Most entries in one batch, so a burst cannot make one commit arbitrarily long.
const MAX_BATCH: usize = 256;

/// Entries that may wait for the writer before callers wait to queue theirs. The number of
/// shares in flight is already bounded by the listener's concurrency limit; this only bounds
/// the queue's memory if that limit is raised far.
const QUEUE_DEPTH: usize = 4096;

type Answer = oneshot::Sender<Result<Recorded, LedgerError>>;

/// A handle on the writer thread; cheap to clone. The thread ends when the last handle is
/// dropped, after answering everything already queued.
#[derive(Clone)]
pub struct LedgerWriter {
    queue: mpsc::Sender<(LedgerEntry, Answer)>,
}

impl LedgerWriter {
    /// Starts the writer thread for `ledger`. Fails only if the OS refuses a new thread.
    pub fn start(ledger: Arc<ResilientLedger>) -> std::io::Result<LedgerWriter> {
        let (queue, waiting) = mpsc::channel(QUEUE_DEPTH);
        std::thread::Builder::new()
            .name("ledger-writer".to_owned())
            .spawn(move || write_until_closed(&ledger, waiting))?;
        Ok(LedgerWriter { queue })
    }

    /// Records `entry` as [`ResilientLedger::record`] does, without holding a thread while the
    /// commit happens.
    pub async fn record(&self, entry: LedgerEntry) -> Result<Recorded, LedgerError> {
        let (answer, outcome) = oneshot::channel();
        if self.queue.send((entry, answer)).await.is_err() {
            return Err(writer_gone());
        }
        outcome.await.unwrap_or_else(|_| Err(writer_gone()))
    }
}

fn write_until_closed(
    ledger: &ResilientLedger,
    mut waiting: mpsc::Receiver<(LedgerEntry, Answer)>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = waiting.blocking_recv() {
        batch.push(first);
        // Woken by the first entry, the writer would otherwise commit it alone while the shares
        // right behind it are still being answered upstream. Letting those threads run first
        // (a no-op when none is waiting for this core) grew batches from about 4 to over 15
        // entries on a loaded core and cut a share's CPU by a sixth (BENCHMARKS.md).
        std::thread::yield_now();
        while batch.len() < MAX_BATCH {
            match waiting.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let (entries, answers): (Vec<LedgerEntry>, Vec<Answer>) = batch.drain(..).unzip();
        // Release builds abort on panic, so a store that panics ends the process rather than
        // leave a gateway that acknowledges shares it cannot record.
        let mut outcomes = ledger.record_batch(entries).into_iter();
        for answer in answers {
            // A caller that gave up waiting (its request was cancelled) needs no answer; its
            // entry was recorded all the same.
            let _ = answer.send(outcomes.next().unwrap_or_else(|| Err(writer_gone())));
        }
    }
}

fn writer_gone() -> LedgerError {
    LedgerError::BatchNotCommitted {
        reason: "the ledger writer stopped before recording the entry".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{LedgerStore, SqliteLedger};
    use crate::model::{Caller, Frontend, ReceiptKey};

    fn entry(n: usize) -> LedgerEntry {
        let caller = Caller::new(Frontend::Rest, "writer-test");
        LedgerEntry::new_receipt(
            &caller,
            ReceiptKey::parse(&format!("writerkey{n:020}")).expect("valid key"),
            None,
            1_700_000_000,
            600,
            false,
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_records_are_all_committed_and_answered() {
        let store = Arc::new(SqliteLedger::open_in_memory().expect("ledger"));
        let ledger = Arc::new(ResilientLedger::new(store.clone()));
        let writer = LedgerWriter::start(ledger).expect("writer starts");
        let calls: Vec<_> = (0..300)
            .map(|n| {
                let writer = writer.clone();
                tokio::spawn(async move { writer.record(entry(n)).await })
            })
            .collect();
        for call in calls {
            let outcome = call.await.expect("task");
            assert!(matches!(outcome, Ok(Recorded::Committed)), "{outcome:?}");
        }
        assert_eq!(store.count().expect("count"), 300);
    }

    #[tokio::test]
    async fn a_duplicate_fails_alone() {
        let store = Arc::new(SqliteLedger::open_in_memory().expect("ledger"));
        let writer =
            LedgerWriter::start(Arc::new(ResilientLedger::new(store.clone()))).expect("writer");
        let first = entry(1);
        writer.record(first.clone()).await.expect("first");
        let (again, other) = tokio::join!(writer.record(first), writer.record(entry(2)));
        assert!(matches!(again, Err(LedgerError::AlreadyRecorded { .. })));
        assert!(matches!(other, Ok(Recorded::Committed)));
        assert_eq!(store.count().expect("count"), 2);
    }
}
