//! What each frontend may do: which operations, whether callers may only touch their own
//! receipts, and where `recent` comes from.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Frontend, Operation};

/// Where a frontend's `recent` list comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecentSource {
    /// The team account's list from OTS (its v1 semantics), when team credentials are set;
    /// the caller's ledger entries when the gateway runs anonymously.
    UpstreamAccount,
    /// Always the caller's own receipts from the ledger.
    CallerLedger,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontendPolicy {
    pub allowed_operations: BTreeSet<Operation>,
    /// Refuse `receipt` and `burn` of receipts this caller did not create through the gateway.
    pub enforce_ownership: bool,
    pub recent_source: RecentSource,
}

impl FrontendPolicy {
    /// The defaults per frontend. REST behaves like OTS itself: holding a key is permission.
    /// MCP and Discord are per-person and per-agent: each sees only what it created, and AI
    /// agents may not retrieve, since that puts plaintext into model context and uses up the
    /// recipient's one view.
    pub fn default_for(frontend: Frontend) -> Self {
        let all: BTreeSet<Operation> = Operation::ALL.into_iter().collect();
        let all_but_retrieve: BTreeSet<Operation> = Operation::ALL
            .into_iter()
            .filter(|op| *op != Operation::Retrieve)
            .collect();
        match frontend {
            Frontend::Rest | Frontend::Cli => FrontendPolicy {
                allowed_operations: all,
                enforce_ownership: false,
                recent_source: RecentSource::UpstreamAccount,
            },
            Frontend::Mcp | Frontend::Discord => FrontendPolicy {
                allowed_operations: all_but_retrieve,
                enforce_ownership: true,
                recent_source: RecentSource::CallerLedger,
            },
        }
    }

    pub fn allows(&self, operation: Operation) -> bool {
        self.allowed_operations.contains(&operation)
    }
}

/// Every frontend's policy; a frontend without an entry gets [`FrontendPolicy::default_for`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub frontends: BTreeMap<Frontend, FrontendPolicy>,
}

impl Policy {
    pub fn for_frontend(&self, frontend: Frontend) -> FrontendPolicy {
        self.frontends
            .get(&frontend)
            .cloned()
            .unwrap_or_else(|| FrontendPolicy::default_for(frontend))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_may_not_retrieve_by_default_but_rest_may() {
        let policy = Policy::default();
        assert!(
            policy
                .for_frontend(Frontend::Rest)
                .allows(Operation::Retrieve)
        );
        assert!(
            !policy
                .for_frontend(Frontend::Mcp)
                .allows(Operation::Retrieve)
        );
        assert!(policy.for_frontend(Frontend::Mcp).allows(Operation::Share));
        assert!(policy.for_frontend(Frontend::Discord).enforce_ownership);
        assert!(!policy.for_frontend(Frontend::Rest).enforce_ownership);
    }

    #[test]
    fn configured_policies_replace_the_defaults() {
        let mut policy = Policy::default();
        policy.frontends.insert(
            Frontend::Mcp,
            FrontendPolicy {
                allowed_operations: [Operation::Status].into_iter().collect(),
                enforce_ownership: false,
                recent_source: RecentSource::CallerLedger,
            },
        );
        let mcp = policy.for_frontend(Frontend::Mcp);
        assert!(mcp.allows(Operation::Status));
        assert!(!mcp.allows(Operation::Share));
    }
}
