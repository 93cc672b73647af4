//! `s3://` locations: object_store's S3 client with credentials from the
//! standard AWS chain (environment, web identity, ECS, instance metadata)
//! and, when the pipeline names a `role_arn`, STS AssumeRole on top of
//! them, refreshed before the session expires.
//!
//! Delta reaches the same stores through factories registered for `s3://`
//! that read lfhost's settings back from the table's storage options.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Once, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use deltalake_core::logstore::{
    LogStore, LogStoreFactory, ObjectStoreFactory, ObjectStoreRef, StorageConfig, default_logstore,
    logstore_factories, object_store_factories,
};
use deltalake_core::{DeltaResult, DeltaTableError};
use object_store::aws::{
    AmazonS3, AmazonS3Builder, AwsAuthorizer, AwsCredential, AwsCredentialProvider,
};
use object_store::client::{HttpClient, HttpConnector, HttpRequestBody, ReqwestConnector};
use object_store::path::Path;
use object_store::{ClientOptions, CredentialProvider, RetryConfig};
use serde::Deserialize;
use url::Url;

use crate::config::StorageSettings;

/// Sessions are renewed this long before they expire.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);
/// How long an assumed-role session lasts (STS's default).
const SESSION_SECONDS: u32 = 3600;
const DEFAULT_SESSION_NAME: &str = "lfhost";

/// Makes Delta resolve `s3://` through [`store`].
pub fn register() {
    static REGISTERED: Once = Once::new();
    REGISTERED.call_once(|| {
        if let Ok(scheme) = Url::parse("s3://") {
            object_store_factories().insert(scheme.clone(), Arc::new(S3Factory));
            logstore_factories().insert(scheme, Arc::new(S3Factory));
        }
    });
}

/// The S3 store holding `url`'s bucket, and `url`'s path inside it.
pub fn store(url: &Url, settings: &StorageSettings) -> object_store::Result<(Arc<AmazonS3>, Path)> {
    let mut builder = base_builder(url, settings);
    if let Some(role) = &settings.role_arn {
        builder = builder.with_credentials(assumed_role(url, settings, role)?);
    }
    let path = Path::from_url_path(url.path())?;
    Ok((Arc::new(builder.build()?), path))
}

fn base_builder(url: &Url, settings: &StorageSettings) -> AmazonS3Builder {
    let mut builder = AmazonS3Builder::from_env()
        .with_url(url.as_str())
        .with_allow_http(settings.allow_http);
    // The chain's second link, which object_store lacks: a shared
    // credentials profile, when the environment holds no key.
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none()
        && let Some(profile) = profile::from_env()
    {
        builder = builder
            .with_access_key_id(profile.key_id)
            .with_secret_access_key(profile.secret_key);
        if let Some(token) = profile.token {
            builder = builder.with_token(token);
        }
        if let Some(region) = profile.region.filter(|_| env_region().is_none()) {
            builder = builder.with_region(region);
        }
    }
    if let Some(region) = &settings.region {
        builder = builder.with_region(region);
    }
    if let Some(endpoint) = &settings.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    let mut retry = RetryConfig::default();
    if let Some(n) = settings.max_retries {
        retry.max_retries = n;
    }
    if let Some(seconds) = settings.retry_timeout_seconds {
        retry.retry_timeout = Duration::from_secs(seconds);
    }
    builder.with_retry(retry)
}

/// One provider per role and settings for the whole process, so that every
/// store shares one session and renews it once.
fn assumed_role(
    url: &Url,
    settings: &StorageSettings,
    role: &str,
) -> object_store::Result<AwsCredentialProvider> {
    static PROVIDERS: OnceLock<Mutex<HashMap<StorageSettings, AwsCredentialProvider>>> =
        OnceLock::new();
    let providers = PROVIDERS.get_or_init(Default::default);
    let mut providers = providers.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(provider) = providers.get(settings) {
        return Ok(provider.clone());
    }
    // The chain's credentials, as a store without a role would use them.
    let chain = base_builder(url, settings).build()?;
    let region = region(settings);
    let endpoint = match &settings.endpoint {
        Some(endpoint) => endpoint.trim_end_matches('/').to_string(),
        None => format!("https://sts.{region}.amazonaws.com"),
    };
    let client = ReqwestConnector::default()
        .connect(&ClientOptions::new().with_allow_http(settings.allow_http))?;
    let provider: AwsCredentialProvider = Arc::new(AssumeRole {
        base: chain.credentials().clone(),
        role_arn: role.to_string(),
        session_name: settings
            .role_session_name
            .clone()
            .unwrap_or_else(|| DEFAULT_SESSION_NAME.to_string()),
        region,
        endpoint,
        client,
        session: tokio::sync::Mutex::new(None),
    });
    providers.insert(settings.clone(), provider.clone());
    Ok(provider)
}

fn region(settings: &StorageSettings) -> String {
    settings
        .region
        .clone()
        .or_else(env_region)
        .or_else(|| profile::from_env().and_then(|p| p.region))
        .unwrap_or_else(|| "us-east-1".to_string())
}

fn env_region() -> Option<String> {
    std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .ok()
}

/// STS AssumeRole with the chain's credentials.
struct AssumeRole {
    base: AwsCredentialProvider,
    role_arn: String,
    session_name: String,
    region: String,
    endpoint: String,
    client: HttpClient,
    session: tokio::sync::Mutex<Option<(Arc<AwsCredential>, DateTime<Utc>)>>,
}

impl std::fmt::Debug for AssumeRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the credentials.
        f.debug_struct("AssumeRole")
            .field("role_arn", &self.role_arn)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl CredentialProvider for AssumeRole {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let mut session = self.session.lock().await;
        if let Some((credential, expires)) = session.as_ref() {
            let renew_at = *expires - REFRESH_BEFORE_EXPIRY;
            if Utc::now() < renew_at {
                return Ok(credential.clone());
            }
        }
        let (credential, expires) =
            self.assume()
                .await
                .map_err(|message| object_store::Error::Generic {
                    store: "S3",
                    source: message.into(),
                })?;
        let credential = Arc::new(credential);
        *session = Some((credential.clone(), expires));
        Ok(credential)
    }
}

impl AssumeRole {
    async fn assume(&self) -> Result<(AwsCredential, DateTime<Utc>), String> {
        let fail = |why: String| format!("assuming role {} failed: {why}", self.role_arn);
        let base = self
            .base
            .get_credential()
            .await
            .map_err(|e| fail(format!("no AWS credentials to assume it with: {e}")))?;
        let body = serde_urlencoded::to_string([
            ("Action", "AssumeRole"),
            ("Version", "2011-06-15"),
            ("RoleArn", self.role_arn.as_str()),
            ("RoleSessionName", self.session_name.as_str()),
            ("DurationSeconds", &SESSION_SECONDS.to_string()),
        ])
        .map_err(|e| fail(e.to_string()))?;
        let mut request = http::Request::builder()
            .method(http::Method::POST)
            .uri(format!("{}/", self.endpoint))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(HttpRequestBody::from(body))
            .map_err(|e| fail(e.to_string()))?;
        AwsAuthorizer::new(&base, "sts", &self.region).authorize(&mut request, None);
        let response = self
            .client
            .execute(request)
            .await
            .map_err(|e| fail(format!("STS at {} did not answer: {e}", self.endpoint)))?;
        let status = response.status();
        let bytes = response
            .into_body()
            .bytes()
            .await
            .map_err(|e| fail(e.to_string()))?;
        let text = String::from_utf8_lossy(&bytes);
        if !status.is_success() {
            let reason = quick_xml::de::from_str::<ErrorResponse>(&text)
                .map(|e| format!("{} ({status}): {}", e.error.code, e.error.message))
                .unwrap_or_else(|_| {
                    let shown: String = text.chars().take(300).collect();
                    format!("{status}: {shown}")
                });
            return Err(fail(reason));
        }
        let parsed: AssumeRoleResponse = quick_xml::de::from_str(&text)
            .map_err(|e| fail(format!("unreadable STS answer: {e}")))?;
        let credentials = parsed.result.credentials;
        let expires = DateTime::parse_from_rfc3339(&credentials.expiration)
            .map_err(|e| fail(format!("unreadable expiration time: {e}")))?
            .with_timezone(&Utc);
        Ok((
            AwsCredential {
                key_id: credentials.access_key_id,
                secret_key: credentials.secret_access_key,
                token: Some(credentials.session_token),
            },
            expires,
        ))
    }
}

#[derive(Deserialize)]
struct AssumeRoleResponse {
    #[serde(rename = "AssumeRoleResult")]
    result: AssumeRoleResult,
}

#[derive(Deserialize)]
struct AssumeRoleResult {
    #[serde(rename = "Credentials")]
    credentials: StsCredentials,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StsCredentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expiration: String,
}

#[derive(Deserialize)]
struct ErrorResponse {
    #[serde(rename = "Error")]
    error: StsError,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StsError {
    code: String,
    message: String,
}

/// Shared credentials and config files (`~/.aws/credentials`, `~/.aws/config`).
mod profile {
    use std::path::PathBuf;

    use ini::Ini;

    #[derive(Debug, PartialEq)]
    pub struct Profile {
        pub key_id: String,
        pub secret_key: String,
        pub token: Option<String>,
        pub region: Option<String>,
    }

    /// `AWS_PROFILE` (else `default`) from the files the AWS CLI uses.
    pub fn from_env() -> Option<Profile> {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let file = |var: &str, default: &str| {
            std::env::var_os(var)
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
        };
        let name = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".to_string());
        let credentials =
            Ini::load_from_file(file("AWS_SHARED_CREDENTIALS_FILE", "credentials")?).ok()?;
        let config = file("AWS_CONFIG_FILE", "config").and_then(|f| Ini::load_from_file(f).ok());
        read(&name, &credentials, config.as_ref())
    }

    pub fn read(name: &str, credentials: &Ini, config: Option<&Ini>) -> Option<Profile> {
        let section = credentials.section(Some(name))?;
        // The config file names profiles `[profile x]`, except `[default]`.
        let config_section = config.and_then(|c| {
            c.section(Some(format!("profile {name}")))
                .or_else(|| c.section(Some(name)))
        });
        Some(Profile {
            key_id: section.get("aws_access_key_id")?.to_string(),
            secret_key: section.get("aws_secret_access_key")?.to_string(),
            token: section.get("aws_session_token").map(str::to_string),
            region: config_section
                .and_then(|s| s.get("region"))
                .or_else(|| section.get("region"))
                .map(str::to_string),
        })
    }
}

/// Delta's way to [`store`] and its default log store (commits on S3 are
/// atomic through conditional put: no lock table is needed).
struct S3Factory;

impl ObjectStoreFactory for S3Factory {
    fn parse_url_opts(
        &self,
        url: &Url,
        config: &StorageConfig,
    ) -> DeltaResult<(ObjectStoreRef, Path)> {
        let settings = StorageSettings::from_options(&config.raw);
        let (store, path) =
            store(url, &settings).map_err(|e| DeltaTableError::ObjectStore { source: e })?;
        Ok((store, path))
    }
}

impl LogStoreFactory for S3Factory {
    fn with_options(
        &self,
        prefixed_store: ObjectStoreRef,
        root_store: ObjectStoreRef,
        location: &Url,
        options: &StorageConfig,
    ) -> DeltaResult<Arc<dyn LogStore>> {
        Ok(default_logstore(
            prefixed_store,
            root_store,
            location,
            options,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sts_answers_are_read() {
        let ok = r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser><Arn>arn:aws:sts::123:assumed-role/r/s</Arn><AssumedRoleId>X:s</AssumedRoleId></AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAEXAMPLE</AccessKeyId>
      <SecretAccessKey>secret</SecretAccessKey>
      <SessionToken>token</SessionToken>
      <Expiration>2026-11-26T20:00:00Z</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>
</AssumeRoleResponse>"#;
        let parsed: AssumeRoleResponse = quick_xml::de::from_str(ok).expect("parses");
        assert_eq!(parsed.result.credentials.access_key_id, "ASIAEXAMPLE");
        assert_eq!(parsed.result.credentials.expiration, "2026-11-26T20:00:00Z");
        let denied = r#"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not allowed</Message></Error><RequestId>1</RequestId></ErrorResponse>"#;
        let parsed: ErrorResponse = quick_xml::de::from_str(denied).expect("parses");
        assert_eq!(parsed.error.code, "AccessDenied");
    }

    #[test]
    fn profiles_are_read_from_the_shared_files() {
        let credentials = ini::Ini::load_from_str(
            "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = s1\n\n\
             [lake]\naws_access_key_id = AKIALAKE\naws_secret_access_key = s2\naws_session_token = t\n",
        )
        .expect("ini");
        let config =
            ini::Ini::load_from_str("[profile lake]\nregion = eu-central-1\n").expect("ini");
        let lake = profile::read("lake", &credentials, Some(&config)).expect("lake");
        assert_eq!(lake.key_id, "AKIALAKE");
        assert_eq!(lake.token.as_deref(), Some("t"));
        assert_eq!(lake.region.as_deref(), Some("eu-central-1"));
        let default = profile::read("default", &credentials, Some(&config)).expect("default");
        assert_eq!(
            (default.key_id.as_str(), default.region),
            ("AKIADEFAULT", None)
        );
        assert!(profile::read("missing", &credentials, None).is_none());
    }

    #[test]
    fn settings_travel_through_storage_options() {
        let settings = StorageSettings {
            region: Some("eu-west-1".into()),
            endpoint: Some("http://127.0.0.1:9".into()),
            allow_http: true,
            role_arn: Some("arn:aws:iam::123456789012:role/lake".into()),
            role_session_name: None,
            max_retries: Some(2),
            retry_timeout_seconds: Some(5),
        };
        assert_eq!(
            StorageSettings::from_options(&settings.to_options()),
            settings
        );
    }
}
