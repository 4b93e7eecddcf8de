//! Which frontend is asking, and for which operation: the two names that policy, quotas, audit,
//! metrics and errors are keyed on. A leaf module, so `error` and `model` can both use it.

use std::fmt;

/// Which frontend a request came through. Quotas, allowed operations and audit events are keyed on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Frontend {
    Rest,
    Mcp,
    Discord,
    Cli,
}

impl Frontend {
    pub const ALL: [Frontend; 4] = [
        Frontend::Rest,
        Frontend::Mcp,
        Frontend::Discord,
        Frontend::Cli,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Frontend::Rest => "rest",
            Frontend::Mcp => "mcp",
            Frontend::Discord => "discord",
            Frontend::Cli => "cli",
        }
    }
}

impl fmt::Display for Frontend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The operations the gateway offers, in every frontend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    Status,
    Share,
    Generate,
    Retrieve,
    Receipt,
    Burn,
    Recent,
}

impl Operation {
    pub const ALL: [Operation; 7] = [
        Operation::Status,
        Operation::Share,
        Operation::Generate,
        Operation::Retrieve,
        Operation::Receipt,
        Operation::Burn,
        Operation::Recent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Status => "status",
            Operation::Share => "share",
            Operation::Generate => "generate",
            Operation::Retrieve => "retrieve",
            Operation::Receipt => "receipt",
            Operation::Burn => "burn",
            Operation::Recent => "recent",
        }
    }

    pub fn parse(raw: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.as_str() == raw)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
