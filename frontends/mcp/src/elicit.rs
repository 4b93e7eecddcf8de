//! `share_secret` without a secret: the person types it into a one-time entry page that the
//! client opens for them (URL-mode elicitation), and the tool returns the link.
//!
//! The two protocol eras ask differently. A session on 2025-11-25 or older gets an
//! `elicitation/create` request in the middle of the call, which then waits for the page. On
//! 2026-07-28 (stdio or stateless HTTP) the server may not send requests, so the call ends with
//! an `InputRequiredResult` carrying the same elicitation and the entry id as `requestState`;
//! the client shows the page and retries, and the retry waits for the page and returns the
//! link. (2026-07-28 forbids the 2025-11-25 `-32042` URLElicitationRequired error, so it is not
//! used.) The entry id redeems once, only for the caller that opened the page, and only until
//! the page expires: an id that is unknown, foreign, used or expired is answered alike. The
//! secret itself never appears in any MCP message either way.

use std::collections::BTreeMap;

use ots_gateway_core::Error;
use ots_gateway_core::model::Caller;
use rmcp::RoleServer;
use rmcp::handler::server::tool::IntoCallToolResult;
use rmcp::handler::server::wrapper::Json;
use rmcp::model::{
    CallToolResponse, ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction,
    InputRequest, InputRequiredResult, InputResponses, ProtocolVersion,
};
use rmcp::service::{ElicitationError, ElicitationMode, RequestContext};

use crate::entry::{EntryDesk, EntryState, Opened};
use crate::errors::ToolError;
use crate::output::Created;

/// The key of the one input request in an `InputRequiredResult`, and of its answer.
const ENTRY_INPUT: &str = "secret_entry";

/// What the user is told when the client asks to open the page.
const PROMPT: &str = "Type the secret to share into this one-time page of ots-gateway. The \
                      assistant receives only the link, never the secret.";

/// How `share_secret` ends: the link, or (2026-07-28) a request to open the page and retry.
pub(crate) enum ShareOutcome {
    Shared(Json<Created>),
    InputRequired(InputRequiredResult),
}

impl IntoCallToolResult for ShareOutcome {
    fn into_call_tool_result(self) -> Result<CallToolResponse, rmcp::ErrorData> {
        match self {
            ShareOutcome::Shared(created) => created.into_call_tool_result(),
            ShareOutcome::InputRequired(input) => input.into_call_tool_result(),
        }
    }
}

/// What a `share_secret` call without `secret` carries besides its arguments.
pub(crate) struct PageRequest<'a> {
    pub caller: &'a Caller,
    pub ttl: Option<u32>,
    /// The entry id a 2026-07-28 retry echoes back.
    pub request_state: Option<String>,
    pub input_responses: Option<InputResponses>,
}

fn missing_secret(reason: &str) -> ToolError {
    ToolError(Error::InvalidInput {
        field: "secret",
        reason: reason.to_owned(),
    })
}

fn refused(message: &str) -> ToolError {
    ToolError(Error::Refused {
        message: message.to_owned(),
        intended_status: None,
    })
}

const NO_URL_ELICITATION: &str = "this argument is required, since this client cannot open a \
    page for the user (no URL elicitation); to keep the secret out of the conversation, call \
    ask_user_for_secret and give the person the entry_url";

/// Shares a secret typed into an entry page, asking the client to open the page.
pub(crate) async fn share_through_page(
    desk: Option<&EntryDesk>,
    request: PageRequest<'_>,
    context: &RequestContext<RoleServer>,
) -> Result<ShareOutcome, ToolError> {
    let Some(desk) = desk else {
        return Err(missing_secret("this argument is required"));
    };
    if let Some(entry_id) = request.request_state {
        return resume(
            desk,
            request.caller,
            request.ttl,
            &entry_id,
            request.input_responses,
        )
        .await;
    }
    if is_stateless_era(context) {
        if !declares_url_elicitation(context) {
            return Err(missing_secret(NO_URL_ELICITATION));
        }
        let opened = desk.open(request.caller, request.ttl)?;
        return Ok(ShareOutcome::InputRequired(input_required(&opened)));
    }
    in_session(desk, request.caller, request.ttl, context).await
}

/// 2026-07-28 and later: no server-to-client requests, capabilities declared per request.
fn is_stateless_era(context: &RequestContext<RoleServer>) -> bool {
    context
        .protocol_version()
        .is_some_and(|version| version.as_str() >= ProtocolVersion::V_2026_07_28.as_str())
}

fn declares_url_elicitation(context: &RequestContext<RoleServer>) -> bool {
    context
        .meta
        .client_capabilities()
        .and_then(|capabilities| capabilities.elicitation)
        .is_some_and(|elicitation| elicitation.url.is_some())
}

fn input_required(opened: &Opened) -> InputRequiredResult {
    let ask = ElicitRequest::new(ElicitRequestParams::UrlElicitationParams {
        meta: None,
        message: PROMPT.to_owned(),
        url: opened.url.to_string(),
        elicitation_id: opened.id.clone(),
    });
    let requests = BTreeMap::from([(ENTRY_INPUT.to_owned(), InputRequest::Elicitation(ask))]);
    InputRequiredResult::new(Some(requests), Some(opened.id.clone()))
}

/// A 2026-07-28 retry: the client's answer to the elicitation, and the entry it opened.
async fn resume(
    desk: &EntryDesk,
    caller: &Caller,
    ttl: Option<u32>,
    entry_id: &str,
    responses: Option<InputResponses>,
) -> Result<ShareOutcome, ToolError> {
    let answer = responses
        .and_then(|mut responses| responses.remove(ENTRY_INPUT))
        .and_then(|value| serde_json::from_value::<ElicitResult>(value).ok());
    match answer.map(|answer| answer.action) {
        Some(ElicitationAction::Accept) => collect(desk, caller, ttl, entry_id).await,
        // An action this version does not know is not consent.
        Some(_) => {
            desk.withdraw(caller, entry_id);
            Err(refused("the user declined to open the secret entry page"))
        }
        // The spec's answer to a retry without the requested input: ask again.
        None => match desk.reopen(caller, entry_id) {
            Some(opened) => Ok(ShareOutcome::InputRequired(input_required(&opened))),
            None => collect(desk, caller, ttl, entry_id).await,
        },
    }
}

async fn collect(
    desk: &EntryDesk,
    caller: &Caller,
    ttl: Option<u32>,
    entry_id: &str,
) -> Result<ShareOutcome, ToolError> {
    match desk.collect(caller, entry_id).await {
        Some(state) => settled(state, ttl),
        None => Err(ToolError(Error::InvalidInput {
            field: "requestState",
            reason: "no open secret entry page of yours matches it (it is unknown, expired or \
                     already used); call share_secret again"
                .into(),
        })),
    }
}

fn settled(state: EntryState, ttl: Option<u32>) -> Result<ShareOutcome, ToolError> {
    match state {
        EntryState::Shared {
            receipt,
            has_passphrase,
        } => Ok(ShareOutcome::Shared(Json(Created::from_receipt(
            &receipt,
            has_passphrase,
            ttl,
        )))),
        EntryState::Expired => Err(refused(
            "the secret entry page expired before the user submitted it",
        )),
        EntryState::Waiting | EntryState::Submitting => {
            Err(refused("the secret entry page was not submitted"))
        }
    }
}

/// 2025-11-25 and older: ask in the middle of the call, then wait for the page.
async fn in_session(
    desk: &EntryDesk,
    caller: &Caller,
    ttl: Option<u32>,
    context: &RequestContext<RoleServer>,
) -> Result<ShareOutcome, ToolError> {
    if !context
        .peer
        .supported_elicitation_modes()
        .contains(&ElicitationMode::Url)
    {
        return Err(missing_secret(NO_URL_ELICITATION));
    }
    let opened = desk.open(caller, ttl)?;
    let asked = context
        .peer
        .elicit_url_with_timeout(
            PROMPT,
            opened.url.clone(),
            opened.id.clone(),
            Some(opened.expires_in),
        )
        .await;
    match asked {
        Ok(ElicitationAction::Accept) => {}
        Ok(ElicitationAction::Decline | ElicitationAction::Cancel)
        | Err(ElicitationError::UserDeclined | ElicitationError::UserCancelled) => {
            desk.withdraw(caller, &opened.id);
            return Err(refused("the user declined to open the secret entry page"));
        }
        Ok(_) | Err(_) => {
            return Err(refused(
                "the client could not show the secret entry page; call ask_user_for_secret \
                 instead",
            ));
        }
    }
    match desk.settled(caller, &opened.id).await {
        Some(state) => settled(state, ttl),
        None => Err(refused(
            "the secret entry page expired before the user submitted it",
        )),
    }
}
