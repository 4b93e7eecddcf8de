//! Group commit: concurrent `record` calls share one transaction.
//!
//! Every acknowledged share must be committed before its caller hears back, but committing each
//! entry on its own writes the same table and index pages to the WAL once per entry, and that
//! write dominated the cost of a share under load. Here the first caller to arrive becomes the
//! leader: it takes everything queued so far, commits it in one transaction and hands each
//! waiting caller its own outcome. Callers that arrive meanwhile queue up for the next batch, so
//! a batch grows with the load and a lone caller pays no extra wait. No caller returns before the
//! transaction holding its entry has committed.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use crate::ledger::{LedgerEntry, LedgerError};

/// Most entries in one transaction, so a burst cannot make one commit arbitrarily long.
const MAX_BATCH: usize = 256;

#[derive(Default)]
pub(super) struct CommitQueue {
    state: Mutex<QueueState>,
    batch_done: Condvar,
}

#[derive(Default)]
struct QueueState {
    /// Entries waiting for the next batch, oldest first, with their callers' tickets.
    waiting: Vec<(u64, LedgerEntry)>,
    next_ticket: u64,
    /// Whether some caller is committing a batch right now.
    leader_busy: bool,
    /// Outcomes of committed batches, until their callers collect them.
    outcomes: HashMap<u64, Result<(), LedgerError>>,
}

impl CommitQueue {
    /// Queues `entry` and returns once a batch containing it has been committed (or failed).
    /// `commit_batch` must return one outcome per entry, in order.
    pub(super) fn commit(
        &self,
        entry: &LedgerEntry,
        commit_batch: impl Fn(&[LedgerEntry]) -> Vec<Result<(), LedgerError>>,
    ) -> Result<(), LedgerError> {
        let mut state = self.lock();
        let ticket = state.next_ticket;
        state.next_ticket = state.next_ticket.wrapping_add(1);
        state.waiting.push((ticket, entry.clone()));
        loop {
            if let Some(outcome) = state.outcomes.remove(&ticket) {
                return outcome;
            }
            if state.leader_busy {
                state = self
                    .batch_done
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            state.leader_busy = true;
            let take = state.waiting.len().min(MAX_BATCH);
            let (tickets, batch): (Vec<u64>, Vec<LedgerEntry>) =
                state.waiting.drain(..take).unzip();
            drop(state);
            let mut leader = LeaderGuard {
                queue: self,
                unanswered: tickets,
            };
            let mut outcomes = commit_batch(&batch);
            // A batch function that breaks the one-outcome-per-entry contract must not leave a
            // caller waiting forever.
            outcomes.resize_with(leader.unanswered.len(), batch_not_answered);
            state = self.lock();
            let tickets = std::mem::take(&mut leader.unanswered);
            state.outcomes.extend(tickets.into_iter().zip(outcomes));
            state.leader_busy = false;
            self.batch_done.notify_all();
        }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn batch_not_answered() -> Result<(), LedgerError> {
    Err(LedgerError::BatchNotCommitted {
        reason: "the batch ended without an outcome for this entry".to_owned(),
    })
}

/// If the batch function panics, frees the leader's seat and answers the batch's callers with an
/// error, so none of them waits forever and the next caller in line can lead.
struct LeaderGuard<'a> {
    queue: &'a CommitQueue,
    /// Tickets of the batch being committed; emptied once their outcomes are stored.
    unanswered: Vec<u64>,
}

impl Drop for LeaderGuard<'_> {
    fn drop(&mut self) {
        if self.unanswered.is_empty() {
            return;
        }
        let mut state = self.queue.lock();
        for ticket in self.unanswered.drain(..) {
            state.outcomes.insert(ticket, batch_not_answered());
        }
        state.leader_busy = false;
        self.queue.batch_done.notify_all();
    }
}
