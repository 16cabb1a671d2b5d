//! The SDK client every store uses: trust roots, timeouts, retries, the environment it reads, the
//! connection primed at init.

use super::prelude::*;

/// The root certificates of Amazon Trust Services (amazontrust.com/repository), which issue every AWS
/// service endpoint's certificate: Amazon Root CA 1–4 and Starfield Services Root CA G2. SHA-256 (of the
/// DER) 8ECDE688…196E, 1BA5B2AA…6DB4, 18CE6CFE…B3A4, E35D2841…7092, 568D6905…DAB5.
pub(super) const AMAZON_TRUST_ROOTS: &[u8] = include_bytes!("amazon-trust-roots.pem");

/// The SDK's default HTTPS client (rustls with aws-lc, proxy settings from the environment, as
/// `aws-smithy-runtime` builds it), trusting only [`AMAZON_TRUST_ROOTS`]. The default loads the system's
/// whole store when the client is first used (here a 200 kB bundle and 146 files): 6.2 of the 9.5 ms of CPU
/// the SDK floor spends from exec to its first `next` (`perf stat`), and the larger part of its cold start.
pub(super) fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
    use aws_smithy_http_client::{Builder, ConnectorBuilder};
    let context = TlsContext::builder()
        .with_trust_store(TrustStore::empty().with_pem_certificate(AMAZON_TRUST_ROOTS))
        .build()
        .expect("a TLS context");
    Builder::new().build_with_connector_fn(move |settings, components| {
        // The client's validation calls this once with no components and drops the connector: the default
        // client does so to load the system's roots early. Ours are five and parsed when the connector is
        // built for use (at init, by `Store::prime`); building the TLS configuration twice cost 13 % of
        // init's instructions (callgrind), which the 128 MB CPU share makes milliseconds.
        let Some(components) = components else { return ConnectorBuilder::default().build_http() };
        let mut connector = ConnectorBuilder::default()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(context.clone());
        connector.set_connector_settings(settings.cloned());
        connector.set_sleep_impl(components.sleep_impl());
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// Timeouts and retries set explicitly: the SDK's defaults never time out a frozen server.
/// Connect 1 s, each attempt 2 s, the whole operation (with the SDK's own retries) 5 s. A request's calls
/// together are bounded by [`crate::deadline`].
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(5))
        .build()
}

/// Three attempts in all for throttling and transient faults, with a short first backoff.
pub fn retries() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(3).with_initial_backoff(Duration::from_millis(25))
}

/// The value of the first of `names` that `var` finds set to something, as the SDK reads a setting with
/// several names.
fn first_set(names: &[&str], var: impl Fn(&str) -> Option<String>) -> Option<String> {
    names.iter().find_map(|name| var(name).filter(|value| !value.is_empty()))
}

/// The region as the SDK's default chain reads it first: `AWS_REGION`, then `AWS_DEFAULT_REGION` (Lambda sets
/// both); with neither, us-east-1 (locally, where DynamoDB Local ignores it).
fn region_from(var: impl Fn(&str) -> Option<String>) -> String {
    first_set(&["AWS_REGION", "AWS_DEFAULT_REGION"], var).unwrap_or_else(|| "us-east-1".to_owned())
}

/// An environment variable set to something.
pub(super) fn env_set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|value| !value.is_empty())
}

impl Store {
    /// The DynamoDB client configuration every store uses, on top of a loaded `SdkConfig`.
    pub fn client_builder(sdk: &aws_config::SdkConfig) -> aws_sdk_dynamodb::config::Builder {
        aws_sdk_dynamodb::config::Builder::from(sdk)
            .timeout_config(timeouts())
            .retry_config(retries())
            .interceptor(RoundTripCounter)
            .interceptor(DeadlineGuard)
    }

    /// The standard AWS configuration loader. Credentials in the environment (Lambda's, or exported) are
    /// read from it alone, as the default chain would read them first; locally (an endpoint override is
    /// set) missing credentials and region get harmless defaults, so that nothing probes the instance
    /// metadata service and DynamoDB Local works without AWS set-up.
    pub fn sdk_loader() -> aws_config::ConfigLoader {
        // Given directly rather than through the default chain: building that chain (its profile and IMDS
        // providers) cost 2.5 % of a function's init instructions (callgrind), to read the same variable.
        let region = region_from(|name| std::env::var(name).ok());
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region));
        if env_set("AWS_ACCESS_KEY_ID") && env_set("AWS_SECRET_ACCESS_KEY") {
            // Lambda's case: the default chain would take these first anyway, but building it (web identity
            // with its STS client and endpoint partitions, IMDS, profiles) cost a quarter of a function's
            // init instructions (callgrind, exec to the first `next`).
            loader = loader
                .credentials_provider(aws_config::environment::EnvironmentVariableCredentialsProvider::new());
        } else if env_set("AWS_ENDPOINT_URL_DYNAMODB") {
            loader = loader.credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "local",
                "local",
                None,
                None,
                "orgmint-local",
            ));
        }
        loader
    }

    /// Loads the AWS configuration (`Store::sdk_loader`) and the table name from `ORGMINT_TABLE`; the
    /// client trusts only the Amazon Trust Services roots.
    pub async fn from_env() -> Self {
        let mut loader = Self::sdk_loader();
        // `SSL_CERT_FILE`/`SSL_CERT_DIR` name another trust store (e.g. a local TLS proxy's): the default client
        // honours them.
        if !env_set("SSL_CERT_FILE") && !env_set("SSL_CERT_DIR") {
            loader = loader.http_client(https_client());
        }
        let sdk = loader.load().await;
        let client = Client::from_conf(Self::client_builder(&sdk).build());
        let table = std::env::var("ORGMINT_TABLE").unwrap_or_else(|_| DEFAULT_TABLE.to_owned());
        Store::new(client, table)
    }

    /// The endpoint the client calls, and whether the environment chose it rather than the region's AWS
    /// endpoint: what an operator needs to read when DynamoDB cannot be reached. The SDK's own precedence:
    /// `AWS_ENDPOINT_URL_DYNAMODB`, then `AWS_ENDPOINT_URL` (the client's config has no getter for it).
    pub fn endpoint(&self) -> (String, bool) {
        match first_set(&["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"], |name| std::env::var(name).ok()) {
            Some(url) => (url, true),
            None => {
                let region = self.client.config().region().map_or("us-east-1", |r| r.as_ref());
                (format!("https://dynamodb.{region}.amazonaws.com"), false)
            }
        }
    }

    /// Opens the connection (TCP, TLS, credentials, signing) during init, so the first request does not pay
    /// for it. Reads a key that never exists with the same `GetItem` the functions are allowed anyway.
    pub async fn prime(&self, vendor: Vendor) {
        // A key no item has, within the vendor's partitions (the only ones its function may read).
        let _ = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(format!("TENANT#{vendor}#")))
            .key("sk", s("PRIME"))
            .send()
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_region_is_read_as_the_sdk_reads_it() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        let both = env(&[("AWS_REGION", "eu-west-3"), ("AWS_DEFAULT_REGION", "ap-south-1")]);
        assert_eq!(region_from(both), "eu-west-3");
        assert_eq!(
            region_from(env(&[("AWS_REGION", ""), ("AWS_DEFAULT_REGION", "ap-south-1")])),
            "ap-south-1"
        );
        assert_eq!(region_from(env(&[])), "us-east-1");
    }

    /// The trust roots are parsed when the client builds its connector, and a bad one would panic there on
    /// the first request: send one (to a closed port) and expect an error instead.
    #[tokio::test]
    async fn the_amazon_trust_roots_load() {
        assert_eq!(AMAZON_TRUST_ROOTS.windows(27).filter(|w| w == b"-----BEGIN CERTIFICATE-----").count(), 5);
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("a", "b", None, None, "test"))
            .endpoint_url("https://127.0.0.1:9")
            .retry_config(RetryConfig::disabled())
            .http_client(https_client())
            .build();
        let sent = Client::from_conf(config).get_item().table_name("t").key("pk", s("x")).send().await;
        assert!(sent.is_err());
    }
}
