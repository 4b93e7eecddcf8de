//! The tools: one method per gateway operation, each translating arguments into a core call and
//! the result (or error) back. Policy, quotas, ownership and audit all happen in the core.

use std::sync::Arc;

use ots_gateway_core::Gateway;
use ots_gateway_core::model::{
    Caller, CreateOptions, Frontend, GenerateRequest, Operation, Passphrase, ShareRequest,
};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::handler::server::tool::{InputResponses, RequestState};
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler, tool, tool_handler, tool_router};

use crate::arguments::{
    AskArgs, BurnArgs, EntryArgs, GenerateArgs, NoArgs, PassphraseArg, RetrieveArgs, ShareArgs,
    StatusArgs, check_arguments, non_empty, structure_argument_error,
};
use crate::elicit::{PageRequest, ShareOutcome, share_through_page};
use crate::entry::{EntryDesk, EntryState};
use crate::errors::ToolError;
use crate::identity::{Transport, caller_for};
use crate::keys;
use crate::output::{
    BurnResult, Created, EntryOpened, EntryResult, ExposedSecret, GatewayStatus, RecentItem,
    RecentList, RetrievedSecret, Status,
};
use crate::schema;
use crate::settings::McpSettings;

/// Sent to the client at connection time; models read it before choosing tools.
const INSTRUCTIONS: &str = "\
ots-gateway shares secrets (passwords, API keys, tokens) as one-time links through \
OneTimeSecret. A link opens once, then the secret is destroyed.\n\
- Send people the share_url, never the secret itself, and never paste a secret into chat.\n\
- When you do not already have the secret, prefer generate_secret: the server creates the \
password, so it never passes through this conversation. Use share_secret only for a secret \
the user already gave you.\n\
- Keep the metadata_key to yourself: it lets you check (secret_status) or destroy (burn_secret) \
the secret. Do not send it to the recipient.\n\
- When the user wants to share a secret they have not typed into this conversation, and ask_user_for_secret is available, use it: the person types the secret into a one-time page of the gateway and you only receive the link (secret_entry_result).\n\
- If you set a passphrase, tell the user to send it through a different channel than the link.\n\
- secret_status never uses up the link; opening the share_url does, so do not open it yourself.\n\
- Errors come back as results with a `code`; on `rate_limited`, wait `retry_after_seconds` \
before retrying, and never retry share_secret or generate_secret after `upstream_timeout` \
without checking list_recent_secrets first.";

/// Why `list_recent_secrets` refuses a stateless client without a token or header.
const NO_DISTINCT_IDENTITY: &str = "this client has no identity of its own on this gateway: the \
request came without a client token, without an X-OTS-Gateway-Client header and without an MCP \
session (protocol 2026-07-28 is stateless), and the name it declares may be any other client's \
too (every client built on the PyPI SDK declares `mcp`), so its list would include theirs. Present a client token (Authorization: \
Bearer, from the gateway's client_tokens_file), send an X-OTS-Gateway-Client header naming this \
client, or connect with protocol 2025-11-25 (which has sessions). Keys you hold still work with \
secret_status and burn_secret.";

/// One MCP server instance. Cheap to clone: the HTTP transport makes one per request.
#[derive(Clone)]
pub struct McpServer {
    gateway: Gateway,
    transport: Transport,
    return_generated_value: bool,
    out_of_band_only: bool,
    entry: Option<EntryDesk>,
    /// Built once: schema generation is not free, and the set of tools depends only on policy
    /// fixed at startup.
    tools: Arc<ToolRouter<McpServer>>,
}

impl McpServer {
    pub(crate) fn new(
        gateway: Gateway,
        settings: &McpSettings,
        transport: Transport,
        entry: Option<EntryDesk>,
    ) -> Self {
        let mut tools = Self::tool_router();
        if entry.is_none() {
            tools.remove_route("ask_user_for_secret");
            tools.remove_route("secret_entry_result");
        }
        // Not merely refused at call time: a tool the model never sees is one it cannot be talked
        // into calling, and retrieval puts plaintext into its context and uses up the link.
        if !retrieve_enabled(&gateway) {
            tools.remove_route("retrieve_secret");
        }
        for route in tools.map.values_mut() {
            if let Some(success) = &route.attr.output_schema {
                route.attr.output_schema = Some(Arc::new(schema::or_error(success)));
            }
        }
        McpServer {
            gateway,
            transport,
            return_generated_value: settings.return_generated_value,
            out_of_band_only: settings.out_of_band_only,
            entry,
            tools: Arc::new(tools),
        }
    }

    fn caller(&self, context: &RequestContext<RoleServer>) -> Caller {
        caller_for(self.transport, context).caller
    }

    /// The caller, for tools that act on "my secrets" without being handed a key. Refused for a
    /// caller that is not told apart from other clients (see `identity`): its list would be
    /// every same-named client's.
    fn distinct_caller(&self, context: &RequestContext<RoleServer>) -> Result<Caller, ToolError> {
        let identified = caller_for(self.transport, context);
        if identified.told_apart {
            return Ok(identified.caller);
        }
        Err(ToolError(ots_gateway_core::Error::Refused {
            message: NO_DISTINCT_IDENTITY.to_owned(),
            intended_status: None,
        }))
    }

    fn entry_desk(&self) -> Result<&EntryDesk, ToolError> {
        self.entry.as_ref().ok_or_else(|| {
            ToolError(ots_gateway_core::Error::Refused {
                message: "secret entry pages are not enabled on this gateway".into(),
                intended_status: None,
            })
        })
    }
}

/// Policy is per frontend, so any MCP caller answers for all of them.
fn retrieve_enabled(gateway: &Gateway) -> bool {
    gateway
        .policy_for(&Caller::new(Frontend::Mcp, "policy-probe"))
        .allows(Operation::Retrieve)
}

fn passphrase(raw: Option<PassphraseArg>) -> Option<Passphrase> {
    PassphraseArg::into_passphrase(raw)
}

// Return types are spelt out as `Result<Json<T>, ToolError>`: the macro finds the output schema
// by reading the signature, and a type alias hides it.
#[tool_router]
impl McpServer {
    #[tool(
        description = "Store a secret the user already gave you (a password, token, key) and get \
a one-time link for the recipient. Returns share_url (send this), metadata_key (keep it for \
secret_status and burn_secret) and when the link expires. The secret is never echoed back. If \
you do not already have the secret, use generate_secret instead so it never enters the \
conversation.",
        // Spelt out: the return type also carries the 2026-07-28 request to open the page.
        output_schema = rmcp::handler::server::tool::schema_for_output::<Created>(),
        annotations(
            title = "Share a secret as a one-time link",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn share_secret(
        &self,
        Parameters(args): Parameters<ShareArgs>,
        RequestState(request_state): RequestState,
        InputResponses(input_responses): InputResponses,
        context: RequestContext<RoleServer>,
    ) -> Result<ShareOutcome, ToolError> {
        let Some(secret) = args.secret else {
            let caller = self.caller(&context);
            let request = PageRequest {
                caller: &caller,
                ttl: args.ttl,
                request_state,
                input_responses,
            };
            return share_through_page(self.entry.as_ref(), request, &context).await;
        };
        if self.out_of_band_only {
            return Err(ToolError(ots_gateway_core::Error::InvalidInput {
                field: "secret",
                reason: "this gateway accepts secrets only through its one-time entry page; \
                         leave the secret out (if your client opens links for the user) or \
                         call ask_user_for_secret and give the person the entry_url"
                    .into(),
            }));
        }
        let caller = self.caller(&context);
        let passphrase = passphrase(args.passphrase);
        let has_passphrase = passphrase.is_some();
        let request = ShareRequest {
            secret: secret.0,
            options: CreateOptions {
                ttl: args.ttl.map(i64::from),
                passphrase,
                recipient: non_empty(args.recipient),
                share_domain: None,
            },
        };
        let receipt = self.gateway.share(&caller, request).await?;
        Ok(ShareOutcome::Shared(Json(Created::from_receipt(
            &receipt,
            has_passphrase,
            args.ttl,
        ))))
    }

    #[tool(
        description = "Generate a random password on the server and get a one-time link to it, \
so the password never passes through this conversation. Returns share_url (send this to the \
person who needs the password), metadata_key (keep it for secret_status and burn_secret) and \
when the link expires. Prefer this over share_secret whenever you do not already have the \
secret.",
        annotations(
            title = "Generate a password as a one-time link",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn generate_secret(
        &self,
        Parameters(args): Parameters<GenerateArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<Created>, ToolError> {
        let caller = self.caller(&context);
        let passphrase = passphrase(args.passphrase);
        let has_passphrase = passphrase.is_some();
        let request = GenerateRequest {
            length: args.length.map(i64::from),
            options: CreateOptions {
                ttl: args.ttl.map(i64::from),
                passphrase,
                recipient: non_empty(args.recipient),
                share_domain: None,
            },
            ..GenerateRequest::default()
        };
        let mut receipt = self.gateway.generate(&caller, request).await?;
        let mut created = Created::from_receipt(&receipt, has_passphrase, args.ttl);
        if self.return_generated_value {
            created.generated_value = receipt.value.take().map(ExposedSecret);
        }
        Ok(Json(created))
    }

    #[tool(
        description = "Check a secret you created: whether the recipient has opened it yet \
(`state`: new means not yet, received means opened; the output schema lists every state), when \
it was created and opened, and how long it has left. Does not open or use up the link. Takes the metadata_key (or receipt link) returned when \
the secret was created; only secrets created by this client can be checked.",
        annotations(
            title = "Check whether a secret was opened",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn secret_status(
        &self,
        Parameters(args): Parameters<StatusArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<Status>, ToolError> {
        let caller = self.caller(&context);
        let key = keys::receipt_key(&args.metadata_key)?;
        let receipt = self.gateway.receipt(&caller, &key).await?;
        // Absent when ownership is not enforced and the secret was made elsewhere.
        let created_with_passphrase = self
            .gateway
            .entry_for(&caller, &key)
            .await
            .ok()
            .map(|entry| entry.has_passphrase);
        Ok(Json(Status::new(&receipt, created_with_passphrase)))
    }

    #[tool(
        description = "Destroy a secret before anyone opens it, so its link stops working. Use \
when a link was sent to the wrong person or is no longer needed. Takes the metadata_key (or \
receipt link) and, if the secret has one, its passphrase. Only secrets created by this client \
can be burned. Cannot be undone.",
        annotations(
            title = "Burn (destroy) a secret",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn burn_secret(
        &self,
        Parameters(args): Parameters<BurnArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<BurnResult>, ToolError> {
        let caller = self.caller(&context);
        let key = keys::receipt_key(&args.metadata_key)?;
        let passphrase = passphrase(args.passphrase);
        let burned = self
            .gateway
            .burn(&caller, &key, passphrase.as_ref())
            .await?;
        Ok(Json(BurnResult::from(&burned)))
    }

    #[tool(
        description = "List the secrets this client created through the gateway, newest first, \
with their state and metadata_key. Use it to find a secret to \
check or burn, or to see whether a create call that timed out went through.",
        annotations(
            title = "List my recent secrets",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_recent_secrets(
        &self,
        Parameters(NoArgs {}): Parameters<NoArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<RecentList>, ToolError> {
        let caller = self.distinct_caller(&context)?;
        let owned = self.gateway.owned_recent(&caller).await?;
        let ledger = self.gateway.ledger_health();
        Ok(Json(RecentList {
            secrets: owned.iter().map(RecentItem::from).collect(),
            ledger_warning: (!ledger.is_healthy()).then(|| ledger.to_string()),
        }))
    }

    #[tool(
        description = "Open a one-time secret link and return the secret's plaintext. WARNING: \
this consumes the secret. The link stops working for its intended recipient, and the plaintext \
enters this conversation. Only use it when the user explicitly asks you to read a secret that \
was sent to them. Takes the share link or its secret key, and the passphrase if there is one. \
Never use it to check whether a secret was opened; use secret_status for that.",
        annotations(
            title = "Open (consume) a one-time secret",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn retrieve_secret(
        &self,
        Parameters(args): Parameters<RetrieveArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<RetrievedSecret>, ToolError> {
        let caller = self.caller(&context);
        let key = keys::secret_key(&args.secret_key)?;
        let passphrase = passphrase(args.passphrase);
        let revealed = self
            .gateway
            .retrieve(&caller, &key, passphrase.as_ref())
            .await?;
        Ok(Json(RetrievedSecret {
            secret: ExposedSecret(revealed.value),
        }))
    }

    #[tool(
        description = "Ask the user to type a secret into a one-time page of the gateway, so \
the secret never passes through this conversation. Returns entry_url (give it to the user as a \
link to open) and entry_id. When the user says they have submitted it, call \
secret_entry_result with the entry_id to get the share_url and metadata_key. The page works \
once and expires.",
        annotations(
            title = "Ask the user to type a secret into a one-time page",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn ask_user_for_secret(
        &self,
        Parameters(args): Parameters<AskArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<EntryOpened>, ToolError> {
        let desk = self.entry_desk()?;
        let caller = self.caller(&context);
        let opened = desk.open(&caller, args.ttl)?;
        Ok(Json(EntryOpened {
            entry_url: opened.url.to_string(),
            entry_id: opened.id,
            expires_in_seconds: u32::try_from(opened.expires_in.as_secs()).unwrap_or(u32::MAX),
        }))
    }

    #[tool(
        description = "Learn how a secret entry page from ask_user_for_secret ended: waiting \
(not submitted yet), shared (with the share_url and metadata_key, as share_secret returns them) \
or expired. Only the client that asked can see its entries.",
        annotations(
            title = "Result of a secret entry page",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn secret_entry_result(
        &self,
        Parameters(args): Parameters<EntryArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<EntryResult>, ToolError> {
        let desk = self.entry_desk()?;
        let caller = self.caller(&context);
        let state = desk
            .state_for(&caller, args.entry_id.trim())
            .ok_or_else(|| {
                ToolError(ots_gateway_core::Error::InvalidInput {
                    field: "entry_id",
                    reason: "no entry page of yours has that id".into(),
                })
            })?;
        let (name, secret) = match state {
            EntryState::Waiting => ("waiting", None),
            EntryState::Submitting => ("submitting", None),
            EntryState::Expired => ("expired", None),
            EntryState::Shared {
                receipt,
                has_passphrase,
            } => (
                "shared",
                Some(Created::from_receipt(&receipt, has_passphrase, None)),
            ),
        };
        Ok(Json(EntryResult {
            entry_id: args.entry_id.trim().to_owned(),
            state: name.to_owned(),
            secret,
        }))
    }

    #[tool(
        description = "Report the gateway's state: whether the OneTimeSecret server is reachable, \
whether a team account or anonymous access is used, this client's caller id and quotas, and \
whether retrieve_secret is enabled. Use it when other tools fail unexpectedly.",
        annotations(
            title = "Gateway status",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn gateway_status(
        &self,
        Parameters(NoArgs {}): Parameters<NoArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<GatewayStatus>, ToolError> {
        let caller = self.caller(&context);
        let overview = self.gateway.overview().await;
        Ok(Json(GatewayStatus::new(
            &overview,
            &caller.id,
            retrieve_enabled(&self.gateway),
        )))
    }
}

#[tool_handler(router = self.tools)]
impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                "ots-gateway",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(INSTRUCTIONS)
    }

    // Written out rather than generated, to give argument errors the tools' error shape.
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, rmcp::ErrorData> {
        if let Some(tool) = self.tools.get(&request.name) {
            let checked = check_arguments(&tool.input_schema, request.arguments.as_ref());
            if let Err(error) = checked {
                return Ok(ToolError(error).into_response());
            }
        }
        let call = ToolCallContext::new(self, request, context);
        let response = self.tools.call(call).await?;
        Ok(structure_argument_error(response))
    }
}
