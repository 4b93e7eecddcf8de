//! The body of `GET /gateway/status`, one type for both ends: the REST frontend writes it and
//! `ots-gateway status` reads it, so a renamed field breaks the build, not the command.

use serde::{Deserialize, Serialize};

use super::GatewayOverview;
use crate::limits::Rate;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    pub version: String,
    pub ready: bool,
    pub upstream: UpstreamReport,
    pub team_account: bool,
    pub quotas: QuotasReport,
    pub tracked_callers: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_entries: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamReport {
    pub origin: String,
    /// Which OTS API the client speaks (`choice`, `api`, `fell_back`, `fallbacks`); absent for
    /// the simulator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<crate::ots::ApiInUse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotasReport {
    /// `None` (JSON `null`): unlimited.
    pub upstream_budget: Option<RateReport>,
    pub callers: Vec<CallerQuotaReport>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateReport {
    pub per_minute: u32,
    pub burst: u32,
}

impl From<Rate> for RateReport {
    fn from(rate: Rate) -> Self {
        RateReport {
            per_minute: rate.per_minute.get(),
            burst: rate.burst.get(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallerQuotaReport {
    pub frontend: String,
    pub class: String,
    #[serde(flatten)]
    pub rate: RateReport,
}

impl StatusReport {
    /// Ready means the upstream answers `status`.
    pub fn new(overview: GatewayOverview, version: &str) -> Self {
        let (status, error) = match overview.upstream {
            Ok(upstream) => (Some(upstream.status), None),
            Err(error) => (None, Some(error)),
        };
        StatusReport {
            version: version.to_owned(),
            ready: status.is_some(),
            upstream: UpstreamReport {
                origin: overview.upstream_origin,
                api: overview.upstream_api,
                status,
                error,
            },
            team_account: overview.team_account,
            quotas: QuotasReport {
                upstream_budget: overview.quotas.upstream.map(RateReport::from),
                callers: overview
                    .quotas
                    .callers
                    .iter()
                    .map(|((frontend, class), rate)| CallerQuotaReport {
                        frontend: frontend.as_str().to_owned(),
                        class: class.as_str().to_owned(),
                        rate: RateReport::from(*rate),
                    })
                    .collect(),
            },
            tracked_callers: overview.tracked_callers,
            ledger_entries: overview.ledger_entries,
        }
    }
}
