//! Records new ledger entries for async callers, committing concurrent ones together.
//!
//! A share is acknowledged only after its entry is committed (a SIGKILL right after the answer
//! must not lose it), and one commit per entry would write the same pages to the WAL again and
//! again, so entries recorded close together share a commit. Where the commit runs depends on
//! what it costs:
//!
//! - **On the async runtime** when the store's commit only hands data to the operating system
//!   (SQLite with durability `normal`: a WAL append, tens of microseconds per batch) and the
//!   store is writing normally. The first entry to find no committer running spawns one: a task
//!   that first yields, so every share already answered upstream can queue its entry, then
//!   commits everything queued as one batch and answers each caller, and goes on while more are
//!   queued. Before this, each entry went to a writer thread, and waiting for that thread to be
//!   scheduled on a busy core (and for the caller's worker to be woken again) cost most of the
//!   latency a share added (BENCHMARKS.md).
//! - **On the ledger writer thread** when the commit waits for the disk (durability `full`:
//!   an fsync, milliseconds) or the store is failing (a retry may wait out SQLite's busy
//!   timeout): either would stall an async worker and every request on it. The thread takes
//!   everything queued so far as one batch.
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::{mpsc, oneshot};

use super::{LedgerEntry, LedgerError, Recorded, ResilientLedger};

/// Most entries in one batch, so a burst cannot make one commit arbitrarily long.
const MAX_BATCH: usize = 256;

/// Entries that may wait for the writer thread before callers wait to queue theirs. The number
/// of shares in flight is already bounded by the listener's concurrency limit; this only bounds
/// the queue's memory if that limit is raised far.
const QUEUE_DEPTH: usize = 4096;

type Answer = oneshot::Sender<Result<Recorded, LedgerError>>;
type Queued = (LedgerEntry, Answer);

/// What the writer thread is asked to do.
enum WriterJob {
    Record(LedgerEntry, Answer),
    /// Run the store's due checkpoint, which commits on async workers leave undone.
    Checkpoint,
}

/// A handle on the ledger's writers; cheap to clone. The writer thread ends when the last
/// handle is dropped, after answering everything already queued.
#[derive(Clone)]
pub struct LedgerWriter {
    shared: Arc<Shared>,
}

struct Shared {
    ledger: Arc<ResilientLedger>,
    /// Whether commits may run on the async runtime: fixed by the store's durability.
    commits_are_brief: bool,
    on_runtime: Mutex<RuntimeQueue>,
    to_thread: mpsc::Sender<WriterJob>,
}

#[derive(Default)]
struct RuntimeQueue {
    /// Oldest first.
    waiting: Vec<Queued>,
    /// Whether a committer task is running; it commits everything queued before it stops.
    committer_running: bool,
}

impl LedgerWriter {
    /// Starts the writer thread for `ledger`. Fails only if the OS refuses a new thread.
    pub fn start(ledger: Arc<ResilientLedger>) -> std::io::Result<LedgerWriter> {
        let (to_thread, waiting) = mpsc::channel(QUEUE_DEPTH);
        let for_thread = Arc::clone(&ledger);
        std::thread::Builder::new()
            .name("ledger-writer".to_owned())
            .spawn(move || write_until_closed(&for_thread, waiting))?;
        Ok(LedgerWriter {
            shared: Arc::new(Shared {
                commits_are_brief: !ledger.commits_wait_for_disk(),
                ledger,
                on_runtime: Mutex::new(RuntimeQueue::default()),
                to_thread,
            }),
        })
    }

    /// Records `entry` as [`ResilientLedger::record`] does, and returns once it is committed
    /// (or kept in the backlog), without holding a thread while the commit happens.
    pub async fn record(&self, entry: LedgerEntry) -> Result<Recorded, LedgerError> {
        let (answer, outcome) = oneshot::channel();
        let shared = &self.shared;
        if shared.commits_are_brief && shared.ledger.health().is_healthy() {
            let start_committer = {
                let mut queue = lock(&shared.on_runtime);
                queue.waiting.push((entry, answer));
                !std::mem::replace(&mut queue.committer_running, true)
            };
            if start_committer {
                tokio::spawn(Arc::clone(shared).commit_on_runtime());
            }
        } else if shared
            .to_thread
            .send(WriterJob::Record(entry, answer))
            .await
            .is_err()
        {
            return Err(writer_gone());
        }
        outcome.await.unwrap_or_else(|_| Err(writer_gone()))
    }
}

impl Shared {
    async fn commit_on_runtime(self: Arc<Self>) {
        let mut running = CommitterRunning {
            shared: &self,
            stopped: false,
        };
        loop {
            // Runs again only after the tasks ready now (and the I/O they wait on) have had
            // their turn: shares answered upstream meanwhile join this batch.
            tokio::task::yield_now().await;
            let batch = {
                let mut queue = lock(&self.on_runtime);
                if queue.waiting.is_empty() {
                    queue.committer_running = false;
                    running.stopped = true;
                    return;
                }
                take_batch(&mut queue.waiting)
            };
            let (entries, answers): (Vec<LedgerEntry>, Vec<Answer>) = batch.into_iter().unzip();
            match self.ledger.try_record_batch(entries) {
                Ok(outcomes) => answer_all(answers, outcomes),
                // The store is busy (a checkpoint, a read), its next commit syncs, or it has a
                // backlog to write first: each may take milliseconds, which the writer thread
                // can wait out.
                Err(entries) => {
                    for (entry, answer) in entries.into_iter().zip(answers) {
                        let job = WriterJob::Record(entry, answer);
                        if let Err(mpsc::error::SendError(WriterJob::Record(_, answer))) =
                            self.to_thread.send(job).await
                        {
                            let _ = answer.send(Err(writer_gone()));
                        }
                    }
                }
            }
            if self.ledger.checkpoint_due() {
                // Best effort: if the thread's queue is full, its next batch checkpoints anyway.
                let _ = self.to_thread.try_send(WriterJob::Checkpoint);
            }
        }
    }
}

/// Clears the committer's flag if its task is dropped before it finished (the runtime shutting
/// down), after handing what is still queued to the writer thread: otherwise no committer would
/// ever start again and those callers would wait forever.
struct CommitterRunning<'a> {
    shared: &'a Shared,
    stopped: bool,
}

impl Drop for CommitterRunning<'_> {
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        let mut queue = lock(&self.shared.on_runtime);
        for (entry, answer) in queue.waiting.drain(..) {
            let job = WriterJob::Record(entry, answer);
            if let Err(refused) = self.shared.to_thread.try_send(job) {
                // The thread's queue is full or the thread is gone: commit here after all.
                if let WriterJob::Record(entry, answer) = refused.into_inner() {
                    let _ = answer.send(self.shared.ledger.record(entry));
                }
            }
        }
        queue.committer_running = false;
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section on this lock leaves the queue consistent at each step.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn take_batch(waiting: &mut Vec<Queued>) -> Vec<Queued> {
    let take = waiting.len().min(MAX_BATCH);
    waiting.drain(..take).collect()
}

/// One outcome per entry, in order, as [`ResilientLedger::record_batch`] promises.
fn answer_all(answers: Vec<Answer>, outcomes: Vec<Result<Recorded, LedgerError>>) {
    let mut outcomes = outcomes.into_iter();
    for answer in answers {
        // A caller that gave up waiting (its request was cancelled) needs no answer; its
        // entry was recorded all the same.
        let _ = answer.send(outcomes.next().unwrap_or_else(|| Err(writer_gone())));
    }
}

fn write_until_closed(ledger: &ResilientLedger, mut jobs: mpsc::Receiver<WriterJob>) {
    let mut batch: Vec<Queued> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = jobs.blocking_recv() {
        let mut checkpoint = false;
        sort_job(first, &mut batch, &mut checkpoint);
        // Woken by the first entry, the writer would otherwise commit it alone while the shares
        // right behind it are still being answered upstream. Letting those threads run first
        // (a no-op when none is waiting for this core) grew batches from about 4 to over 15
        // entries on a loaded core and cut a share's CPU by a sixth (BENCHMARKS.md).
        std::thread::yield_now();
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(next) => sort_job(next, &mut batch, &mut checkpoint),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            let (entries, answers): (Vec<LedgerEntry>, Vec<Answer>) = batch.drain(..).unzip();
            // Release builds abort on panic, so a store that panics ends the process rather
            // than leave a gateway that acknowledges shares it cannot record. A due checkpoint
            // runs as part of this (blocking) write.
            answer_all(answers, ledger.record_batch(entries));
        } else if checkpoint {
            ledger.checkpoint();
        }
    }
}

fn sort_job(job: WriterJob, batch: &mut Vec<Queued>, checkpoint: &mut bool) {
    match job {
        WriterJob::Record(entry, answer) => batch.push((entry, answer)),
        WriterJob::Checkpoint => *checkpoint = true,
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
    use crate::ledger::{FlakyStore, LedgerStore, Pretences, SqliteLedger};
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
        record_all(&writer, 300).await;
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

    fn start(store: &Arc<FlakyStore>) -> LedgerWriter {
        let ledger = ResilientLedger::new(Arc::clone(store) as Arc<dyn LedgerStore>);
        LedgerWriter::start(Arc::new(ledger)).expect("writer")
    }

    async fn record_all(writer: &LedgerWriter, count: usize) {
        let calls: Vec<_> = (0..count)
            .map(|n| {
                let writer = writer.clone();
                tokio::spawn(async move { writer.record(entry(n)).await })
            })
            .collect();
        for call in calls {
            let outcome = call.await.expect("task");
            assert!(matches!(outcome, Ok(Recorded::Committed)), "{outcome:?}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn brief_commits_run_on_the_runtime_and_slow_ones_on_the_writer_thread() {
        let brief = FlakyStore::new();
        let writer = start(&brief);
        record_all(&writer, 100).await;
        assert_eq!(brief.count().expect("count"), 100);
        let threads = brief.write_threads();
        assert!(!threads.is_empty());
        assert!(
            threads.iter().all(|name| name != "ledger-writer"),
            "{threads:?}"
        );
        // Concurrent records share commits.
        assert!(
            threads.len() < 100,
            "{} commits for 100 entries",
            threads.len()
        );

        every_write_runs_on_the_writer_thread(Pretences {
            commits_wait_for_disk: true,
            ..Pretences::default()
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_busy_store_gets_its_entries_from_the_writer_thread() {
        every_write_runs_on_the_writer_thread(Pretences {
            always_busy: true,
            ..Pretences::default()
        })
        .await;
    }

    async fn every_write_runs_on_the_writer_thread(pretences: Pretences) {
        let store = FlakyStore::pretending(pretences);
        let writer = start(&store);
        record_all(&writer, 50).await;
        assert_eq!(store.count().expect("count"), 50);
        let threads = store.write_threads();
        assert!(
            threads.iter().all(|name| name == "ledger-writer"),
            "{threads:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_due_checkpoint_is_run_by_the_writer_thread() {
        let store = FlakyStore::pretending(Pretences {
            checkpoint_always_due: true,
            ..Pretences::default()
        });
        let writer = start(&store);
        writer.record(entry(1)).await.expect("recorded");
        for _ in 0..500 {
            if !store.checkpoint_threads().is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let checkpoints = store.checkpoint_threads();
        assert!(!checkpoints.is_empty(), "no checkpoint ran");
        assert!(
            checkpoints.iter().all(|name| name == "ledger-writer"),
            "{checkpoints:?}"
        );
    }

    #[test]
    fn an_entry_queued_when_the_runtime_stops_is_still_committed() {
        let store = FlakyStore::new();
        let writer = start(&store);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let recording = tokio::spawn({
                let writer = writer.clone();
                async move { writer.record(entry(7)).await }
            });
            // Lets the recording task queue its entry and spawn the committer, not run it.
            tokio::task::yield_now().await;
            drop(recording);
        });
        assert_eq!(
            store.count().expect("count"),
            0,
            "committed before the stop"
        );
        drop(runtime);
        for _ in 0..500 {
            if store.count().expect("count") == 1 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(store.count().expect("count"), 1);
    }
}
