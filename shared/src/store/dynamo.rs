//! The DynamoDB implementation of the storage traits. Attribute maps stay in this
//! module. Items that expire carry `expires_at` (the tables' TTL attribute), and
//! every read and every conditional write checks it too: TTL deletion is late.
//! Before a call, keys and item sizes are checked against DynamoDB's limits (the local
//! server does not enforce them all): an impossible key is read as no item and refused on
//! write (`InvalidKey`), an item over 400 KB is refused (`ItemTooLarge`), nothing sent.

use super::keys::{
    family_key, fits_partition_key, grant_key, is_storable, refresh_token_key, revoked_jti_key,
    storable, MAX_ITEM_BYTES,
};
use super::*;
use crate::config::Tables;
use crate::model::{ClientKind, GrantType, PkceChallenge, PkceMethod, ScopeSet};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, Select};
use aws_sdk_dynamodb::Client as DynamoClient;
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: DynamoClient,
    tables: Tables,
}

impl DynamoStore {
    pub fn new(client: DynamoClient, tables: Tables) -> Self {
        DynamoStore { client, tables }
    }

    /// A store on the SDK's standard configuration: region, credentials, and the
    /// endpoint override `AWS_ENDPOINT_URL_DYNAMODB` (the local server) all come from the environment.
    pub async fn from_env(tables: Tables) -> Self {
        let sdk_config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        DynamoStore::new(DynamoClient::new(&sdk_config), tables)
    }

    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    async fn scan_all(&self, table: &str) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(table)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            items.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    async fn get_item(
        &self,
        table: &str,
        schema: &KeySchema,
        key: Item,
    ) -> StoreResult<Option<Item>> {
        // No item has a key DynamoDB refuses: nothing to ask.
        if !schema.accepts_key_of(&key) {
            return Ok(None);
        }
        let output = self
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output.item)
    }

    /// Puts an item unless one with the same key exists.
    async fn put_new(&self, table: &str, schema: &KeySchema, item: Item) -> StoreResult<()> {
        schema.check_item(&item)?;
        let result = self
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", schema.partition)
            .send()
            .await;
        unless_condition_failed(result)?
            .map(|_| ())
            .ok_or(StoreError::AlreadyExists)
    }

    /// Puts an item, replacing any with the same key.
    async fn put(&self, table: &str, schema: &KeySchema, item: Item) -> StoreResult<()> {
        schema.check_item(&item)?;
        self.client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Deletes an item; `NotFound` when there was none.
    async fn delete_existing(&self, table: &str, schema: &KeySchema, key: Item) -> StoreResult<()> {
        schema.check_key(&key)?;
        let result = self
            .client
            .delete_item()
            .table_name(table)
            .set_key(Some(key))
            .condition_expression("attribute_exists(#k)")
            .expression_attribute_names("#k", schema.partition)
            .send()
            .await;
        unless_condition_failed(result)?
            .map(|_| ())
            .ok_or(StoreError::NotFound)
    }
}

// --- DynamoDB's limits, checked before a call ------------------------------------------

/// The key attributes of a table, as `template.yaml` defines them.
struct KeySchema {
    partition: &'static str,
    sort: Option<&'static str>,
    /// The partition key of a global secondary index, on the items that carry one.
    index_partition: Option<&'static str>,
}

impl KeySchema {
    const fn simple(partition: &'static str) -> Self {
        KeySchema {
            partition,
            sort: None,
            index_partition: None,
        }
    }

    /// Whether DynamoDB accepts the key that `item` (a key, or a whole item) carries.
    fn accepts_key_of(&self, item: &Item) -> bool {
        let Some(partition) = string_value(item, self.partition) else {
            return false;
        };
        match self.sort {
            Some(sort) => {
                string_value(item, sort).is_some_and(|sort| is_storable(partition, Some(sort)))
            }
            None => is_storable(partition, None),
        }
    }

    /// The check of a write that names an item by its key (update, delete).
    fn check_key(&self, key: &Item) -> StoreResult<()> {
        if self.accepts_key_of(key) {
            Ok(())
        } else {
            Err(StoreError::InvalidKey)
        }
    }

    /// The check of a put: the item's key, its index key if it has one, and its size.
    fn check_item(&self, item: &Item) -> StoreResult<()> {
        self.check_key(item)?;
        if let Some(index) = self.index_partition {
            // An index key DynamoDB refuses fails the write; an absent one is fine (sparse index).
            match item.get(index) {
                None => {}
                Some(AttributeValue::S(value)) if fits_partition_key(value) => {}
                Some(_) => return Err(StoreError::InvalidKey),
            }
        }
        if item_size(item) > MAX_ITEM_BYTES {
            return Err(StoreError::ItemTooLarge);
        }
        Ok(())
    }
}

const SCOPES: KeySchema = KeySchema::simple("name");
const CLIENTS: KeySchema = KeySchema::simple("client_id");
const USERS: KeySchema = KeySchema::simple("username");
const SESSIONS: KeySchema = KeySchema::simple("id_hash");
const CONSENTS: KeySchema = KeySchema {
    partition: "sub",
    sort: Some("client_id"),
    index_partition: None,
};
const CODES: KeySchema = KeySchema::simple("code_hash");
const TOKENS: KeySchema = KeySchema {
    partition: "pk",
    sort: None,
    index_partition: Some("grant_key"),
};
const SIGNING_KEYS: KeySchema = KeySchema::simple("kid");
const THROTTLE: KeySchema = KeySchema::simple("username");

fn string_value<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value),
        _ => None,
    }
}

/// The size DynamoDB counts against its 400 KB item limit: the UTF-8 bytes of every
/// attribute name plus the size of its value ("Item sizes and formats", DynamoDB Developer
/// Guide).
fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(text) => text.len(),
        AttributeValue::N(number) => number_size(number),
        AttributeValue::B(bytes) => bytes.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        // 3 bytes for the list or map, 1 per element, and the elements (a map's with their names).
        AttributeValue::L(values) => 3 + values.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(name, v)| 1 + name.len() + value_size(v))
                .sum::<usize>()
        }
        AttributeValue::Ss(values) => values.iter().map(String::len).sum(),
        AttributeValue::Ns(values) => values.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(values) => values.iter().map(|b| b.as_ref().len()).sum(),
        // A type newer than this SDK: none is ever written here.
        _ => 0,
    }
}

/// 1 byte per two significant digits (leading and trailing zeros trimmed), plus 1 byte.
fn number_size(number: &str) -> usize {
    let mantissa = number.split(['e', 'E']).next().unwrap_or("");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
    significant.div_ceil(2) + 1
}

fn unavailable<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    StoreError::Unavailable(Box::new(err))
}

/// The output of a conditional call, or `None` when its condition failed; any other
/// failure is `Unavailable`.
fn unless_condition_failed<O, E, R>(result: Result<O, SdkError<E, R>>) -> StoreResult<Option<O>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(output) => Ok(Some(output)),
        Err(err)
            if err.as_service_error().and_then(|e| e.code())
                == Some("ConditionalCheckFailedException") =>
        {
            Ok(None)
        }
        Err(err) => Err(unavailable(err)),
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn list<'a>(values: impl IntoIterator<Item = &'a String>) -> AttributeValue {
    AttributeValue::L(values.into_iter().map(|v| s(v.as_str())).collect())
}

fn key(name: &str, value: &str) -> Item {
    HashMap::from([(name.to_string(), s(value))])
}

fn get_str(item: &Item, name: &str) -> StoreResult<String> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value.clone()),
        _ => Err(StoreError::Corrupt(format!(
            "attribute {name} is missing or not a string"
        ))),
    }
}

fn get_opt_str(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value.clone()),
        _ => None,
    }
}

fn get_num(item: &Item, name: &str) -> StoreResult<i64> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("attribute {name} is not an integer"))),
        _ => Err(StoreError::Corrupt(format!(
            "attribute {name} is missing or not a number"
        ))),
    }
}

fn get_opt_num(item: &Item, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value.parse().ok(),
        _ => None,
    }
}

fn get_bool(item: &Item, name: &str) -> bool {
    matches!(item.get(name), Some(AttributeValue::Bool(true)))
}

fn get_list(item: &Item, name: &str) -> StoreResult<Vec<String>> {
    match item.get(name) {
        Some(AttributeValue::L(values)) => values
            .iter()
            .map(|v| match v {
                AttributeValue::S(value) => Ok(value.clone()),
                _ => Err(StoreError::Corrupt(format!(
                    "attribute {name} holds a non-string"
                ))),
            })
            .collect(),
        None => Ok(Vec::new()),
        _ => Err(StoreError::Corrupt(format!(
            "attribute {name} is not a list"
        ))),
    }
}

fn get_set(item: &Item, name: &str) -> StoreResult<ScopeSet> {
    Ok(get_list(item, name)?.into_iter().collect())
}

fn is_live(item: &Item, now: i64) -> bool {
    get_opt_num(item, "expires_at").is_some_and(|expires_at| expires_at > now)
}

// --- scopes -------------------------------------------------------------

fn scope_from(item: &Item) -> StoreResult<Scope> {
    Ok(Scope {
        name: get_str(item, "name")?,
        description: get_opt_str(item, "description").unwrap_or_default(),
    })
}

impl ScopeStore for DynamoStore {
    async fn list_scopes(&self) -> StoreResult<Vec<Scope>> {
        let mut scopes = self
            .scan_all(&self.tables.scopes)
            .await?
            .iter()
            .map(scope_from)
            .collect::<StoreResult<Vec<_>>>()?;
        scopes.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(scopes)
    }

    async fn create_scope(&self, scope: &Scope) -> StoreResult<()> {
        let item = HashMap::from([
            ("name".to_string(), s(&scope.name)),
            ("description".to_string(), s(&scope.description)),
        ]);
        self.put_new(&self.tables.scopes, &SCOPES, item).await
    }

    async fn delete_scope(&self, name: &str) -> StoreResult<()> {
        self.delete_existing(&self.tables.scopes, &SCOPES, key("name", name))
            .await
    }
}

// --- clients ------------------------------------------------------------

fn client_item(client: &Client) -> Item {
    let mut item = HashMap::from([
        ("client_id".to_string(), s(&client.client_id)),
        ("name".to_string(), s(&client.name)),
        ("redirect_uris".to_string(), list(&client.redirect_uris)),
        ("allowed_scopes".to_string(), list(&client.allowed_scopes)),
        ("default_scopes".to_string(), list(&client.default_scopes)),
        (
            "kind".to_string(),
            s(match client.kind {
                ClientKind::Confidential => "confidential",
                ClientKind::Public => "public",
            }),
        ),
        (
            "pkce_optional".to_string(),
            AttributeValue::Bool(client.pkce_optional),
        ),
        (
            "allow_plain_pkce".to_string(),
            AttributeValue::Bool(client.allow_plain_pkce),
        ),
        (
            "resource_server".to_string(),
            AttributeValue::Bool(client.resource_server),
        ),
        (
            "grant_types".to_string(),
            AttributeValue::L(client.grant_types.iter().map(|g| s(g.as_str())).collect()),
        ),
    ]);
    if let Some(hash) = &client.secret_hash {
        item.insert("secret_hash".to_string(), s(hash));
    }
    item
}

fn client_from(item: &Item) -> StoreResult<Client> {
    let kind = match get_str(item, "kind")?.as_str() {
        "confidential" => ClientKind::Confidential,
        "public" => ClientKind::Public,
        other => return Err(StoreError::Corrupt(format!("client kind {other:?}"))),
    };
    Ok(Client {
        client_id: get_str(item, "client_id")?,
        name: get_str(item, "name")?,
        redirect_uris: get_list(item, "redirect_uris")?,
        allowed_scopes: get_set(item, "allowed_scopes")?,
        default_scopes: get_set(item, "default_scopes")?,
        kind,
        secret_hash: get_opt_str(item, "secret_hash"),
        pkce_optional: get_bool(item, "pkce_optional"),
        allow_plain_pkce: get_bool(item, "allow_plain_pkce"),
        // Absent on clients stored before the attribute existed: false.
        resource_server: get_bool(item, "resource_server"),
        grant_types: get_list(item, "grant_types")?
            .iter()
            .filter_map(|g| GrantType::parse(g))
            .collect(),
    })
}

impl ClientStore for DynamoStore {
    async fn get_client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        self.get_item(&self.tables.clients, &CLIENTS, key("client_id", client_id))
            .await?
            .as_ref()
            .map(client_from)
            .transpose()
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        let mut clients = self
            .scan_all(&self.tables.clients)
            .await?
            .iter()
            .map(client_from)
            .collect::<StoreResult<Vec<_>>>()?;
        clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        Ok(clients)
    }

    async fn create_client(&self, client: &Client) -> StoreResult<()> {
        self.put_new(&self.tables.clients, &CLIENTS, client_item(client))
            .await
    }

    async fn replace_client(&self, client: &Client) -> StoreResult<()> {
        let item = client_item(client);
        CLIENTS.check_item(&item)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.tables.clients)
            .set_item(Some(item))
            .condition_expression("attribute_exists(client_id)")
            .send()
            .await;
        unless_condition_failed(result)?
            .map(|_| ())
            .ok_or(StoreError::NotFound)
    }

    async fn delete_client(&self, client_id: &str) -> StoreResult<()> {
        self.delete_existing(&self.tables.clients, &CLIENTS, key("client_id", client_id))
            .await
    }
}

// --- users --------------------------------------------------------------

impl UserStore for DynamoStore {
    async fn get_user(&self, username: &str) -> StoreResult<Option<User>> {
        let Some(item) = self
            .get_item(&self.tables.users, &USERS, key("username", username))
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(User {
            username: get_str(&item, "username")?,
            sub: get_str(&item, "sub")?,
            password_hash: get_str(&item, "password_hash")?,
        }))
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let item = HashMap::from([
            ("username".to_string(), s(&user.username)),
            ("sub".to_string(), s(&user.sub)),
            ("password_hash".to_string(), s(&user.password_hash)),
        ]);
        self.put_new(&self.tables.users, &USERS, item).await
    }

    async fn delete_user(&self, username: &str) -> StoreResult<()> {
        self.delete_existing(&self.tables.users, &USERS, key("username", username))
            .await
    }
}

// --- sessions -----------------------------------------------------------

impl SessionStore for DynamoStore {
    async fn create_session(&self, session: &Session) -> StoreResult<()> {
        let item = HashMap::from([
            ("id_hash".to_string(), s(&session.id_hash)),
            ("sub".to_string(), s(&session.sub)),
            ("username".to_string(), s(&session.username)),
            ("expires_at".to_string(), n(session.expires_at)),
        ]);
        self.put_new(&self.tables.sessions, &SESSIONS, item).await
    }

    async fn get_session(&self, id_hash: &str, now: i64) -> StoreResult<Option<Session>> {
        let Some(item) = self
            .get_item(&self.tables.sessions, &SESSIONS, key("id_hash", id_hash))
            .await?
        else {
            return Ok(None);
        };
        if !is_live(&item, now) {
            return Ok(None);
        }
        session_from(&item).map(Some)
    }
}

fn session_from(item: &Item) -> StoreResult<Session> {
    Ok(Session {
        id_hash: get_str(item, "id_hash")?,
        sub: get_str(item, "sub")?,
        username: get_str(item, "username")?,
        expires_at: get_num(item, "expires_at")?,
    })
}

// --- consents -----------------------------------------------------------

fn consent_key(sub: &str, client_id: &str) -> Item {
    HashMap::from([
        ("sub".to_string(), s(sub)),
        ("client_id".to_string(), s(client_id)),
    ])
}

fn consent_item(consent: &Consent) -> Item {
    let mut item = consent_key(&consent.sub, &consent.client_id);
    item.insert("scopes".to_string(), list(&consent.scopes));
    item.insert("expires_at".to_string(), n(consent.expires_at));
    item
}

fn consent_from(item: &Item) -> StoreResult<Consent> {
    Ok(Consent {
        sub: get_str(item, "sub")?,
        client_id: get_str(item, "client_id")?,
        scopes: get_set(item, "scopes")?,
        expires_at: get_num(item, "expires_at")?,
    })
}

impl ConsentStore for DynamoStore {
    async fn get_consent(
        &self,
        sub: &str,
        client_id: &str,
        now: i64,
    ) -> StoreResult<Option<Consent>> {
        match self
            .get_item(
                &self.tables.consents,
                &CONSENTS,
                consent_key(sub, client_id),
            )
            .await?
        {
            Some(item) if is_live(&item, now) => Ok(Some(consent_from(&item)?)),
            _ => Ok(None),
        }
    }

    async fn put_consent(&self, consent: &Consent) -> StoreResult<()> {
        self.put(&self.tables.consents, &CONSENTS, consent_item(consent))
            .await
    }

    async fn list_consents(&self, sub: &str) -> StoreResult<Vec<Consent>> {
        let mut consents = Vec::new();
        if !fits_partition_key(sub) {
            return Ok(consents);
        }
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.tables.consents)
                .key_condition_expression("#sub = :sub")
                .expression_attribute_names("#sub", "sub")
                .expression_attribute_values(":sub", s(sub))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            for item in page.items.unwrap_or_default() {
                consents.push(consent_from(&item)?);
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(consents),
            }
        }
    }

    async fn delete_consent(&self, sub: &str, client_id: &str) -> StoreResult<()> {
        self.delete_existing(
            &self.tables.consents,
            &CONSENTS,
            consent_key(sub, client_id),
        )
        .await
    }
}

// --- authorization codes --------------------------------------------------

fn grant_item(grant: &Grant) -> Item {
    let mut item = HashMap::from([
        ("code_hash".to_string(), s(&grant.code_hash)),
        ("client_id".to_string(), s(&grant.client_id)),
        ("sub".to_string(), s(&grant.sub)),
        ("scopes".to_string(), list(&grant.scopes)),
        ("expires_at".to_string(), n(grant.expires_at)),
    ]);
    if let Some(uri) = &grant.redirect_uri {
        item.insert("redirect_uri".to_string(), s(uri));
    }
    if let Some(pkce) = &grant.pkce {
        item.insert("code_challenge".to_string(), s(&pkce.challenge));
        item.insert("code_challenge_method".to_string(), s(pkce.method.as_str()));
    }
    item
}

fn grant_from(item: &Item) -> StoreResult<Grant> {
    let pkce = match get_opt_str(item, "code_challenge") {
        Some(challenge) => {
            let method = get_str(item, "code_challenge_method")?;
            let method = PkceMethod::parse(&method)
                .ok_or_else(|| StoreError::Corrupt(format!("code_challenge_method {method:?}")))?;
            Some(PkceChallenge { challenge, method })
        }
        None => None,
    };
    Ok(Grant {
        code_hash: get_str(item, "code_hash")?,
        client_id: get_str(item, "client_id")?,
        redirect_uri: get_opt_str(item, "redirect_uri"),
        sub: get_str(item, "sub")?,
        scopes: get_set(item, "scopes")?,
        pkce,
        expires_at: get_num(item, "expires_at")?,
        redeemed_at: get_opt_num(item, "redeemed_at"),
        issued_jti: get_opt_str(item, "issued_jti"),
        issued_family: get_opt_str(item, "issued_family"),
    })
}

impl CodeStore for DynamoStore {
    async fn create_code(&self, grant: &Grant) -> StoreResult<()> {
        self.put_new(&self.tables.codes, &CODES, grant_item(grant))
            .await
    }

    async fn redeem_code(
        &self,
        code_hash: &str,
        now: i64,
        issued_jti: &str,
        issued_family: Option<&str>,
    ) -> StoreResult<Redemption> {
        storable(code_hash, None)?;
        // One conditional write: of concurrent redemptions exactly one passes the condition.
        let mut update = self
            .client
            .update_item()
            .table_name(&self.tables.codes)
            .key("code_hash", s(code_hash))
            .condition_expression(
                "attribute_exists(code_hash) AND attribute_not_exists(redeemed_at) AND expires_at > :now",
            )
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":jti", s(issued_jti))
            .return_values(ReturnValue::AllNew);
        update = match issued_family {
            Some(family) => update
                .update_expression(
                    "SET redeemed_at = :now, issued_jti = :jti, issued_family = :family",
                )
                .expression_attribute_values(":family", s(family)),
            None => update.update_expression("SET redeemed_at = :now, issued_jti = :jti"),
        };
        if let Some(output) = unless_condition_failed(update.send().await)? {
            let grant = grant_from(&output.attributes.unwrap_or_default())?;
            return Ok(Redemption::Redeemed(grant));
        }
        // Only the failure path reads: tell a replay from an unknown or expired code.
        match self
            .get_item(&self.tables.codes, &CODES, key("code_hash", code_hash))
            .await?
        {
            Some(item) if item.contains_key("redeemed_at") => {
                Ok(Redemption::Replayed(grant_from(&item)?))
            }
            _ => Ok(Redemption::Invalid),
        }
    }
}

// --- signing keys ---------------------------------------------------------

const PUBLIC_KEY_ATTRIBUTES: &str = "kid, created_at, active_from, n, e";

impl KeyStore for DynamoStore {
    async fn list_keys(&self, private: bool) -> StoreResult<Vec<SigningKey>> {
        let mut request = self.client.scan().table_name(&self.tables.keys);
        if !private {
            // The JWKS function's IAM policy allows reading only these attributes.
            request = request
                .select(Select::SpecificAttributes)
                .projection_expression(PUBLIC_KEY_ATTRIBUTES);
        }
        let output = request.send().await.map_err(unavailable)?;
        let mut keys = output
            .items
            .unwrap_or_default()
            .iter()
            .map(|item| {
                let created_at = get_num(item, "created_at")?;
                Ok(SigningKey {
                    kid: get_str(item, "kid")?,
                    created_at,
                    // Keys stored before staged activation signed from their creation.
                    active_from: match item.get("active_from") {
                        None => created_at,
                        Some(_) => get_num(item, "active_from")?,
                    },
                    private_pem: if private {
                        Some(Secret::new(get_str(item, "private_pem")?))
                    } else {
                        None
                    },
                    n: get_str(item, "n")?,
                    e: get_str(item, "e")?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        keys.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.kid.cmp(&a.kid)));
        Ok(keys)
    }

    async fn put_key(&self, signing_key: &SigningKey) -> StoreResult<()> {
        let mut item = HashMap::from([
            ("kid".to_string(), s(&signing_key.kid)),
            ("created_at".to_string(), n(signing_key.created_at)),
            ("active_from".to_string(), n(signing_key.active_from)),
            ("n".to_string(), s(&signing_key.n)),
            ("e".to_string(), s(&signing_key.e)),
        ]);
        if let Some(pem) = &signing_key.private_pem {
            item.insert("private_pem".to_string(), s(pem.expose()));
        }
        self.put_new(&self.tables.keys, &SIGNING_KEYS, item).await
    }

    async fn delete_key(&self, kid: &str) -> StoreResult<()> {
        self.delete_existing(&self.tables.keys, &SIGNING_KEYS, key("kid", kid))
            .await
    }
}

// --- login throttling -----------------------------------------------------

impl ThrottleStore for DynamoStore {
    async fn failures(&self, username: &str, now: i64) -> StoreResult<u32> {
        match self
            .get_item(&self.tables.throttle, &THROTTLE, key("username", username))
            .await?
        {
            Some(item) if is_live(&item, now) => {
                Ok(get_num(&item, "failures")?.clamp(0, u32::MAX as i64) as u32)
            }
            _ => Ok(0),
        }
    }

    async fn record_failure(
        &self,
        username: &str,
        now: i64,
        window_seconds: i64,
    ) -> StoreResult<u32> {
        storable(username, None)?;
        // A live window counts up; an expired or missing one starts again at 1.
        let live = self
            .client
            .update_item()
            .table_name(&self.tables.throttle)
            .key("username", s(username))
            .update_expression("ADD failures :one")
            .condition_expression("expires_at > :now")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        if let Some(output) = unless_condition_failed(live)? {
            let failures = get_num(&output.attributes.unwrap_or_default(), "failures")?;
            return Ok(failures.clamp(0, u32::MAX as i64) as u32);
        }
        let item = HashMap::from([
            ("username".to_string(), s(username)),
            ("failures".to_string(), n(1)),
            ("expires_at".to_string(), n(now + window_seconds)),
        ]);
        self.put(&self.tables.throttle, &THROTTLE, item).await?;
        Ok(1)
    }

    async fn clear_failures(&self, username: &str) -> StoreResult<()> {
        storable(username, None)?;
        self.client
            .delete_item()
            .table_name(&self.tables.throttle)
            .key("username", s(username))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

// --- revoked access tokens ---------------------------------------------------

impl RevocationStore for DynamoStore {
    async fn revoke_jti(&self, jti: &str, expires_at: i64) -> StoreResult<()> {
        let item = HashMap::from([
            ("pk".to_string(), s(revoked_jti_key(jti))),
            ("expires_at".to_string(), n(expires_at)),
        ]);
        self.put(&self.tables.tokens, &TOKENS, item).await
    }

    async fn is_jti_revoked(&self, jti: &str, now: i64) -> StoreResult<bool> {
        Ok(self
            .get_item(
                &self.tables.tokens,
                &TOKENS,
                key("pk", &revoked_jti_key(jti)),
            )
            .await?
            .is_some_and(|item| is_live(&item, now)))
    }
}

// --- refresh tokens and their families ---------------------------------------

use crate::model::{RefreshToken, TokenFamily};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};

pub const FAMILIES_BY_GRANT_INDEX: &str = "families_by_grant";

fn refresh_item(token: &RefreshToken) -> Item {
    HashMap::from([
        ("pk".to_string(), s(refresh_token_key(&token.token_hash))),
        ("family_id".to_string(), s(&token.family_id)),
        ("client_id".to_string(), s(&token.client_id)),
        ("sub".to_string(), s(&token.sub)),
        ("scopes".to_string(), list(&token.scopes)),
        ("issued_at".to_string(), n(token.issued_at)),
        ("expires_at".to_string(), n(token.expires_at)),
        ("family_expires_at".to_string(), n(token.family_expires_at)),
    ])
}

fn refresh_from(item: &Item) -> StoreResult<RefreshToken> {
    let pk = get_str(item, "pk")?;
    Ok(RefreshToken {
        token_hash: pk.strip_prefix("rt#").unwrap_or(&pk).to_string(),
        family_id: get_str(item, "family_id")?,
        client_id: get_str(item, "client_id")?,
        sub: get_str(item, "sub")?,
        scopes: get_set(item, "scopes")?,
        issued_at: get_num(item, "issued_at")?,
        expires_at: get_num(item, "expires_at")?,
        family_expires_at: get_num(item, "family_expires_at")?,
        used_at: get_opt_num(item, "used_at"),
        revoked: get_bool(item, "revoked"),
    })
}

fn family_from(item: &Item) -> StoreResult<TokenFamily> {
    let pk = get_str(item, "pk")?;
    Ok(TokenFamily {
        family_id: pk.strip_prefix("fam#").unwrap_or(&pk).to_string(),
        client_id: get_str(item, "client_id")?,
        sub: get_str(item, "sub")?,
        expires_at: get_num(item, "expires_at")?,
        current: get_str(item, "current")?,
        revoked: get_bool(item, "revoked"),
    })
}

fn build_error(error: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

// --- transactions ------------------------------------------------------------------

use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::error::TransactionCanceledException;

/// Why DynamoDB cancelled a transaction, from its cancellation reasons (one per item, in
/// order; `None` for an item that was fine).
#[derive(Debug, PartialEq, Eq)]
enum Cancellation {
    /// Only conditions failed: the domain outcome (a lost race, an existing item).
    ConditionFailed,
    /// A concurrent transaction or throttling: transient, to be retried, never a domain outcome.
    Contention(String),
    /// Anything else (validation, size, missing reasons): a storage failure.
    Other(String),
}

fn cancellation(cancelled: &TransactionCanceledException) -> Cancellation {
    let codes: Vec<&str> = cancelled
        .cancellation_reasons()
        .iter()
        .map(|reason| reason.code().unwrap_or("None"))
        .filter(|code| *code != "None")
        .collect();
    let listed = codes.join(", ");
    if codes.is_empty() {
        Cancellation::Other("no cancellation reason given".to_string())
    } else if codes.iter().all(|code| *code == "ConditionalCheckFailed") {
        Cancellation::ConditionFailed
    } else if codes.iter().any(|code| {
        matches!(
            *code,
            "TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded"
        )
    }) {
        Cancellation::Contention(listed)
    } else {
        Cancellation::Other(listed)
    }
}

/// `true` when the transaction was written, `false` when only its conditions failed;
/// contention and every other failure are errors.
fn transaction_written<R>(
    result: Result<TransactWriteItemsOutput, SdkError<TransactWriteItemsError, R>>,
) -> StoreResult<bool>
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let err = match result {
        Ok(_) => return Ok(true),
        Err(err) => err,
    };
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        err.as_service_error()
    else {
        return Err(unavailable(err));
    };
    match cancellation(cancelled) {
        Cancellation::ConditionFailed => Ok(false),
        Cancellation::Contention(reasons) => Err(StoreError::Contention(reasons)),
        Cancellation::Other(reasons) => Err(StoreError::Unavailable(
            format!("transaction cancelled: {reasons}").into(),
        )),
    }
}

impl DynamoStore {
    fn put_new_token(&self, item: Item) -> StoreResult<TransactWriteItem> {
        TOKENS.check_item(&item)?;
        let put = Put::builder()
            .table_name(&self.tables.tokens)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

impl RefreshTokenStore for DynamoStore {
    async fn create_family(&self, family: &TokenFamily, first: &RefreshToken) -> StoreResult<()> {
        let family_item = HashMap::from([
            ("pk".to_string(), s(family_key(&family.family_id))),
            ("client_id".to_string(), s(&family.client_id)),
            ("sub".to_string(), s(&family.sub)),
            ("expires_at".to_string(), n(family.expires_at)),
            ("current".to_string(), s(&family.current)),
            (
                "grant_key".to_string(),
                s(grant_key(&family.sub, &family.client_id)),
            ),
        ]);
        let result = self
            .client
            .transact_write_items()
            .transact_items(self.put_new_token(family_item)?)
            .transact_items(self.put_new_token(refresh_item(first))?)
            .send()
            .await;
        if transaction_written(result)? {
            Ok(())
        } else {
            Err(StoreError::AlreadyExists)
        }
    }

    async fn use_refresh_token(
        &self,
        token_hash: &str,
        client_id: &str,
        now: i64,
    ) -> StoreResult<RefreshUse> {
        let pk = refresh_token_key(token_hash);
        storable(&pk, None)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.tokens)
            .key("pk", s(pk))
            .update_expression("SET used_at = :now")
            .condition_expression(
                "attribute_exists(pk) AND attribute_not_exists(used_at) AND attribute_not_exists(revoked) \
                 AND expires_at > :now AND client_id = :client",
            )
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":client", s(client_id))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        if let Some(output) = unless_condition_failed(result)? {
            let token = refresh_from(&output.attributes.unwrap_or_default())?;
            return Ok(RefreshUse::Accepted(token));
        }
        // Only the failure path reads: tell reuse apart from unknown, expired or foreign.
        match self.get_refresh_token(token_hash).await? {
            Some(token)
                if token.client_id == client_id && (token.used_at.is_some() || token.revoked) =>
            {
                Ok(RefreshUse::Reused(token))
            }
            _ => Ok(RefreshUse::Invalid),
        }
    }

    async fn rotate(
        &self,
        used: &RefreshToken,
        next: &RefreshToken,
        now: i64,
    ) -> StoreResult<bool> {
        let family_pk = family_key(&used.family_id);
        storable(&family_pk, None)?;
        let advance = Update::builder()
            .table_name(&self.tables.tokens)
            .key("pk", s(family_pk))
            .update_expression("SET #current = :next")
            .condition_expression(
                "#current = :used AND attribute_not_exists(revoked) AND expires_at > :now",
            )
            .expression_attribute_names("#current", "current")
            .expression_attribute_values(":next", s(&next.token_hash))
            .expression_attribute_values(":used", s(&used.token_hash))
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(build_error)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(advance).build())
            .transact_items(self.put_new_token(refresh_item(next))?)
            .send()
            .await;
        // Cancelled by its condition: the family was revoked, expired or rotated meanwhile.
        transaction_written(result)
    }

    async fn revoke_family(&self, family_id: &str) -> StoreResult<bool> {
        let family_pk = family_key(family_id);
        storable(&family_pk, None)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.tokens)
            .key("pk", s(family_pk))
            .update_expression("SET revoked = :yes")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(revoked)")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let Some(output) = unless_condition_failed(result)? else {
            return Ok(false);
        };
        let family = family_from(&output.attributes.unwrap_or_default())?;
        // The family's one live token is revoked too, so it cannot be used even once more.
        // Whether or not the token item is still there (it may have expired, and no item has
        // an impossible key), the family is revoked.
        let current_pk = refresh_token_key(&family.current);
        if is_storable(&current_pk, None) {
            let result = self
                .client
                .update_item()
                .table_name(&self.tables.tokens)
                .key("pk", s(current_pk))
                .update_expression("SET revoked = :yes")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":yes", AttributeValue::Bool(true))
                .send()
                .await;
            unless_condition_failed(result)?;
        }
        Ok(true)
    }

    async fn get_refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshToken>> {
        self.get_item(
            &self.tables.tokens,
            &TOKENS,
            key("pk", &refresh_token_key(token_hash)),
        )
        .await?
        .as_ref()
        .map(refresh_from)
        .transpose()
    }

    async fn get_family(&self, family_id: &str) -> StoreResult<Option<TokenFamily>> {
        self.get_item(
            &self.tables.tokens,
            &TOKENS,
            key("pk", &family_key(family_id)),
        )
        .await?
        .as_ref()
        .map(family_from)
        .transpose()
    }

    async fn families_of(&self, sub: &str, client_id: &str) -> StoreResult<Vec<String>> {
        let mut families = Vec::new();
        let grant = grant_key(sub, client_id);
        if !fits_partition_key(&grant) {
            return Ok(families);
        }
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.tables.tokens)
                .index_name(FAMILIES_BY_GRANT_INDEX)
                .key_condition_expression("grant_key = :grant")
                .expression_attribute_values(":grant", s(&grant))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            for item in page.items.unwrap_or_default() {
                let pk = get_str(&item, "pk")?;
                families.push(pk.strip_prefix("fam#").unwrap_or(&pk).to_string());
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(families),
            }
        }
    }
}

// --- the authorization context: one BatchGetItem --------------------------------

use aws_sdk_dynamodb::config::AsyncSleep;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use std::time::Duration;

type BatchRequest = HashMap<String, KeysAndAttributes>;

/// What one BatchGetItem answered: the items found per table, and the keys DynamoDB left
/// unprocessed (under throttling it may leave some, even all).
struct BatchPage {
    found: HashMap<String, Vec<Item>>,
    unprocessed: BatchRequest,
}

/// BatchGetItem is sent at most this many times for one request.
const BATCH_GET_ATTEMPTS: u32 = 4;
/// The wait before asking again for unprocessed keys, doubled each time (25, 50, 100 ms).
const BATCH_GET_FIRST_BACKOFF: Duration = Duration::from_millis(25);

/// Sends `request` and asks again for what was left unprocessed, with exponential backoff
/// (as AWS advises) and a bounded number of attempts. Keys still unprocessed then are a
/// failure (`Unavailable`), never an absent item: a missing session or consent would send
/// a signed-in user to log in again, or show the consent page again.
async fn batch_get<SendBatch, Sent, Wait, Waited>(
    mut request: BatchRequest,
    mut send: SendBatch,
    mut wait: Wait,
) -> StoreResult<HashMap<String, Vec<Item>>>
where
    SendBatch: FnMut(BatchRequest) -> Sent,
    Sent: std::future::Future<Output = StoreResult<BatchPage>>,
    Wait: FnMut(Duration) -> Waited,
    Waited: std::future::Future<Output = ()>,
{
    let mut items: HashMap<String, Vec<Item>> = HashMap::new();
    let mut backoff = BATCH_GET_FIRST_BACKOFF;
    for attempt in 0..BATCH_GET_ATTEMPTS {
        if request.is_empty() {
            return Ok(items);
        }
        if attempt > 0 {
            wait(backoff).await;
            backoff *= 2;
        }
        let page = send(request).await?;
        for (table, found) in page.found {
            items.entry(table).or_default().extend(found);
        }
        request = page.unprocessed;
    }
    if request.is_empty() {
        Ok(items)
    } else {
        Err(StoreError::Unavailable(
            format!("BatchGetItem left keys unprocessed after {BATCH_GET_ATTEMPTS} attempts")
                .into(),
        ))
    }
}

impl AuthorizationStore for DynamoStore {
    async fn load_authorization_context(
        &self,
        client_id: Option<&str>,
        session: Option<SessionKey<'_>>,
        now: i64,
    ) -> StoreResult<AuthorizationContext> {
        let mut wanted: Vec<(&str, &KeySchema, Item)> = Vec::new();
        if let Some(id) = client_id {
            wanted.push((&self.tables.clients, &CLIENTS, key("client_id", id)));
        }
        if let Some(session) = session {
            wanted.push((
                &self.tables.sessions,
                &SESSIONS,
                key("id_hash", session.id_hash),
            ));
            if let Some(id) = client_id {
                wanted.push((
                    &self.tables.consents,
                    &CONSENTS,
                    consent_key(session.sub, id),
                ));
            }
        }
        let mut request: BatchRequest = HashMap::new();
        // No item has a key DynamoDB refuses: such keys are not asked for (and fail the batch).
        for (table, _, item_key) in wanted
            .into_iter()
            .filter(|(_, schema, item_key)| schema.accepts_key_of(item_key))
        {
            let keys = KeysAndAttributes::builder()
                .keys(item_key)
                .consistent_read(true)
                .build()
                .map_err(build_error)?;
            request.insert(table.to_string(), keys);
        }
        let sleeper = self.client.config().sleep_impl();
        let wait = |delay: Duration| {
            let sleeper = sleeper.clone();
            async move {
                if let Some(sleeper) = sleeper {
                    sleeper.sleep(delay).await;
                }
            }
        };
        let send = |request: BatchRequest| async move {
            let output = self
                .client
                .batch_get_item()
                .set_request_items(Some(request))
                .send()
                .await
                .map_err(unavailable)?;
            Ok(BatchPage {
                found: output.responses.unwrap_or_default(),
                unprocessed: output.unprocessed_keys.unwrap_or_default(),
            })
        };
        let items = batch_get(request, send, wait).await?;
        let first = |table: &str| items.get(table).and_then(|found| found.first());

        let client = first(&self.tables.clients).map(client_from).transpose()?;
        let session = match (session, first(&self.tables.sessions)) {
            (Some(key), Some(item)) if is_live(item, now) => {
                Some(session_from(item)?).filter(|s| s.sub == key.sub)
            }
            _ => None,
        };
        let consent = match (&session, first(&self.tables.consents)) {
            (Some(_), Some(item)) if is_live(item, now) => Some(consent_from(item)?),
            _ => None,
        };
        Ok(AuthorizationContext {
            client,
            session,
            consent,
        })
    }

    async fn save_consent_and_code(&self, consent: &Consent, grant: &Grant) -> StoreResult<()> {
        let consent_item = consent_item(consent);
        CONSENTS.check_item(&consent_item)?;
        let code_item = grant_item(grant);
        CODES.check_item(&code_item)?;
        let put_consent = Put::builder()
            .table_name(&self.tables.consents)
            .set_item(Some(consent_item))
            .build()
            .map_err(build_error)?;
        let put_code = Put::builder()
            .table_name(&self.tables.codes)
            .set_item(Some(code_item))
            .condition_expression("attribute_not_exists(code_hash)")
            .build()
            .map_err(build_error)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put_consent).build())
            .transact_items(TransactWriteItem::builder().put(put_code).build())
            .send()
            .await;
        // Only the code has a condition: a code with this hash exists.
        if transaction_written(result)? {
            Ok(())
        } else {
            Err(StoreError::AlreadyExists)
        }
    }
}

// --- counting round trips -----------------------------------------------------------

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Counts the HTTP requests a store sends to DynamoDB (retries included), so that tests
/// can assert how many round trips a request costs.
#[derive(Clone, Debug, Default)]
pub struct RoundTrips(Arc<AtomicUsize>);

impl RoundTrips {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    pub fn reset(&self) {
        self.0.store(0, Ordering::SeqCst);
    }
}

impl Intercept for RoundTrips {
    fn name(&self) -> &'static str {
        "RoundTrips"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

impl DynamoStore {
    /// A store like `from_env` whose round trips are counted.
    pub async fn from_env_counted(tables: Tables) -> (Self, RoundTrips) {
        let sdk_config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let counter = RoundTrips::default();
        let config = aws_sdk_dynamodb::config::Builder::from(&sdk_config)
            .interceptor(counter.clone())
            .build();
        (
            DynamoStore::new(DynamoClient::from_conf(config), tables),
            counter,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::CancellationReason;
    use std::cell::RefCell;

    fn cancelled(codes: &[&str]) -> TransactionCanceledException {
        codes
            .iter()
            .fold(TransactionCanceledException::builder(), |builder, code| {
                builder.cancellation_reasons(CancellationReason::builder().code(*code).build())
            })
            .build()
    }

    #[test]
    fn cancellations_are_told_apart_by_their_reasons() {
        assert_eq!(
            cancellation(&cancelled(&["ConditionalCheckFailed", "None"])),
            Cancellation::ConditionFailed
        );
        assert_eq!(
            cancellation(&cancelled(&["None", "ConditionalCheckFailed"])),
            Cancellation::ConditionFailed
        );
        for (codes, listed) in [
            (&["TransactionConflict", "None"][..], "TransactionConflict"),
            (&["None", "ThrottlingError"][..], "ThrottlingError"),
            (
                &["ProvisionedThroughputExceeded", "None"][..],
                "ProvisionedThroughputExceeded",
            ),
            // A conflict beside a failed condition may pass on a retry: not a domain outcome.
            (
                &["ConditionalCheckFailed", "TransactionConflict"][..],
                "ConditionalCheckFailed, TransactionConflict",
            ),
        ] {
            assert_eq!(
                cancellation(&cancelled(codes)),
                Cancellation::Contention(listed.to_string()),
                "{codes:?}"
            );
        }
        assert_eq!(
            cancellation(&cancelled(&["ValidationError", "None"])),
            Cancellation::Other("ValidationError".to_string())
        );
        assert_eq!(
            cancellation(&cancelled(&["ItemCollectionSizeLimitExceeded"])),
            Cancellation::Other("ItemCollectionSizeLimitExceeded".to_string())
        );
        assert!(matches!(
            cancellation(&cancelled(&[])),
            Cancellation::Other(_)
        ));
        assert!(matches!(
            cancellation(&cancelled(&["None", "None"])),
            Cancellation::Other(_)
        ));
    }

    fn outcome(codes: &[&str]) -> StoreResult<bool> {
        let error = TransactWriteItemsError::TransactionCanceledException(cancelled(codes));
        transaction_written::<()>(Err(SdkError::service_error(error, ())))
    }

    #[test]
    fn only_failed_conditions_are_a_domain_outcome() {
        assert!(matches!(
            transaction_written::<()>(Ok(TransactWriteItemsOutput::builder().build())),
            Ok(true)
        ));
        assert!(matches!(
            outcome(&["ConditionalCheckFailed", "None"]),
            Ok(false)
        ));
        assert!(matches!(
            outcome(&["None", "TransactionConflict"]),
            Err(StoreError::Contention(reasons)) if reasons == "TransactionConflict"
        ));
        assert!(matches!(
            outcome(&["ThrottlingError", "None"]),
            Err(StoreError::Contention(_))
        ));
        assert!(matches!(
            outcome(&["ValidationError"]),
            Err(StoreError::Unavailable(_))
        ));
        let other = TransactWriteItemsError::unhandled("connection reset");
        assert!(matches!(
            transaction_written::<()>(Err(SdkError::service_error(other, ()))),
            Err(StoreError::Unavailable(_))
        ));
    }

    fn batch_key(id: &str) -> KeysAndAttributes {
        match KeysAndAttributes::builder()
            .keys(key("client_id", id))
            .build()
        {
            Ok(keys) => keys,
            Err(error) => panic!("{error}"),
        }
    }

    fn request_of(tables: &[&str]) -> BatchRequest {
        tables
            .iter()
            .map(|table| (table.to_string(), batch_key(table)))
            .collect()
    }

    /// `batch_get` over scripted pages: each send answers the next page (found tables,
    /// unprocessed tables); returns the result, the tables asked for per send, and the waits.
    async fn scripted(
        pages: Vec<(Vec<&'static str>, Vec<&'static str>)>,
    ) -> (
        StoreResult<HashMap<String, Vec<Item>>>,
        Vec<Vec<String>>,
        Vec<Duration>,
    ) {
        let pages = RefCell::new(pages.into_iter());
        let sent = RefCell::new(Vec::new());
        let waits = RefCell::new(Vec::new());
        let send = |request: BatchRequest| {
            let mut asked: Vec<String> = request.keys().cloned().collect();
            asked.sort();
            sent.borrow_mut().push(asked);
            let page = pages.borrow_mut().next();
            async move {
                let Some((found, unprocessed)) = page else {
                    panic!("sent more often than scripted")
                };
                Ok(BatchPage {
                    found: found
                        .iter()
                        .map(|table| (table.to_string(), vec![key("client_id", table)]))
                        .collect(),
                    unprocessed: request_of(&unprocessed),
                })
            }
        };
        let wait = |delay: Duration| {
            waits.borrow_mut().push(delay);
            async {}
        };
        let result = batch_get(request_of(&["clients", "sessions"]), send, wait).await;
        (result, sent.into_inner(), waits.into_inner())
    }

    #[tokio::test]
    async fn unprocessed_keys_are_asked_again_after_a_growing_wait() {
        let (result, sent, waits) = scripted(vec![
            (vec![], vec!["clients", "sessions"]),
            (vec!["clients"], vec!["sessions"]),
            (vec!["sessions"], vec![]),
        ])
        .await;
        let Ok(items) = result else {
            panic!("{result:?}")
        };
        let mut tables: Vec<&String> = items.keys().collect();
        tables.sort();
        assert_eq!(tables, ["clients", "sessions"]);
        assert_eq!(
            sent,
            [
                vec!["clients", "sessions"],
                vec!["clients", "sessions"],
                vec!["sessions"]
            ]
        );
        assert_eq!(
            waits,
            [Duration::from_millis(25), Duration::from_millis(50)]
        );
    }

    #[tokio::test]
    async fn keys_still_unprocessed_are_a_failure_not_absent_items() {
        let always_unprocessed = (vec!["clients"], vec!["sessions"]);
        let (result, sent, waits) = scripted(vec![always_unprocessed; 4]).await;
        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "{result:?}"
        );
        assert_eq!(sent.len(), 4, "bounded attempts");
        assert_eq!(
            waits,
            [25, 50, 100].map(Duration::from_millis),
            "exponential backoff"
        );
    }

    #[tokio::test]
    async fn an_empty_request_sends_nothing() {
        let result = batch_get(
            BatchRequest::new(),
            |_| async { panic!("sent an empty request") },
            |_| async {},
        )
        .await;
        assert!(matches!(result, Ok(items) if items.is_empty()));
    }

    #[test]
    fn item_sizes_follow_dynamodbs_rules() {
        // Strings: name and value bytes.
        assert_eq!(item_size(&key("id", "abc")), 5);
        assert_eq!(item_size(&key("id", "\u{e9}")), 4);
        // Numbers: 1 byte per two significant digits, plus 1.
        for (number, size) in [
            ("0", 1),
            ("7", 2),
            ("12", 2),
            ("123", 3),
            ("1700000000", 2),
            ("-1.50", 2),
            ("1.2e10", 2),
        ] {
            assert_eq!(number_size(number), size, "{number}");
        }
        let flags = HashMap::from([
            ("ok".to_string(), AttributeValue::Bool(true)),
            ("gone".to_string(), AttributeValue::Null(true)),
        ]);
        assert_eq!(item_size(&flags), 2 + 1 + 4 + 1);
        // Lists and maps: 3 bytes, 1 per element, and the elements.
        let scopes = ["read".to_string(), "write".to_string()];
        let listed = HashMap::from([("scopes".to_string(), list(&scopes))]);
        assert_eq!(item_size(&listed), 6 + 3 + (1 + 4) + (1 + 5));
        let empty = HashMap::from([("l".to_string(), AttributeValue::L(Vec::new()))]);
        assert_eq!(item_size(&empty), 1 + 3);
        let nested = HashMap::from([(
            "m".to_string(),
            AttributeValue::M(HashMap::from([("k".to_string(), n(42))])),
        )]);
        assert_eq!(item_size(&nested), 1 + 3 + (1 + 1 + 2));
    }

    #[test]
    fn writes_are_checked_for_keys_and_size() {
        let client = |name: String| {
            HashMap::from([
                ("client_id".to_string(), s("app")),
                ("name".to_string(), s(name)),
            ])
        };
        assert!(CLIENTS.check_item(&client("App".into())).is_ok());
        let limit = MAX_ITEM_BYTES - "client_id".len() - "app".len() - "name".len();
        assert!(CLIENTS.check_item(&client("n".repeat(limit))).is_ok());
        assert!(matches!(
            CLIENTS.check_item(&client("n".repeat(limit + 1))),
            Err(StoreError::ItemTooLarge)
        ));
        assert!(matches!(
            CLIENTS.check_item(&key("client_id", "")),
            Err(StoreError::InvalidKey)
        ));
        assert!(matches!(
            CLIENTS.check_item(&key("name", "no key at all")),
            Err(StoreError::InvalidKey)
        ));
        assert!(CONSENTS.accepts_key_of(&consent_key("sub", &"c".repeat(1024))));
        assert!(!CONSENTS.accepts_key_of(&consent_key("sub", &"c".repeat(1025))));
        assert!(!CONSENTS.accepts_key_of(&consent_key("", "app")));
        assert!(!CONSENTS.accepts_key_of(&key("sub", "only the partition")));
        let family = |grant: &str| {
            HashMap::from([
                ("pk".to_string(), s("fam#1")),
                ("grant_key".to_string(), s(grant)),
            ])
        };
        assert!(TOKENS.check_item(&family("sub#app")).is_ok());
        assert!(matches!(
            TOKENS.check_item(&family(&"g".repeat(2049))),
            Err(StoreError::InvalidKey)
        ));
        assert!(TOKENS.check_item(&key("pk", "jti#1")).is_ok());
    }
}
