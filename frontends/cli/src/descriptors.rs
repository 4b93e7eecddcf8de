//! File descriptors: the soft limit is raised at start, and the listener's connection cap is
//! kept below whatever limit the process ends up with.
//!
//! The common soft limit is 1 024. Without raising it, a thousand idle sockets from any local
//! process would leave the gateway unable to accept anything, `/healthz` included. Raising it is
//! allowed up to the hard limit without privileges; where even that is low, the cap shrinks so
//! descriptors stay for the ledger, the upstream client and the accept itself.

/// The soft limit the gateway asks for: far above any sensible connection cap.
const WANTED_DESCRIPTORS: u64 = 65_536;

/// Descriptors kept for everything that is not a client connection (ledger and its WAL,
/// upstream connections, the Discord gateway, logs, the runtime).
const RESERVED_DESCRIPTORS: u64 = 64;

/// Raises the soft descriptor limit as far as allowed; the limit now in force, if known.
pub fn raise_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(WANTED_DESCRIPTORS) {
        Ok(limit) => Some(limit),
        Err(error) => {
            tracing::warn!(%error, "cannot read or raise the open-file limit");
            None
        }
    }
}

/// The connection cap that fits under `descriptor_limit`, never above `configured`. Half of
/// what is left after the reserve: a connection evicted at the cap still holds its descriptor
/// for a moment while its replacement is accepted, and a flood keeps that moment busy.
pub fn connection_cap(configured: usize, descriptor_limit: Option<u64>) -> usize {
    let Some(limit) = descriptor_limit else {
        return configured;
    };
    let room = (limit.saturating_sub(RESERVED_DESCRIPTORS) / 2).max(1);
    usize::try_from(room).map_or(configured, |room| configured.min(room))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_descriptors_for_everything_else() {
        assert_eq!(connection_cap(768, Some(65_536)), 768);
        assert_eq!(connection_cap(768, Some(256)), 96);
        assert_eq!(connection_cap(768, Some(1024)), 480);
        assert_eq!(connection_cap(768, Some(10)), 1);
        assert_eq!(connection_cap(768, None), 768);
    }
}
