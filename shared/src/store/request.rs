//! What a request reads before it acts, in one round trip (credentials, tenants, the rate window, the
//! idempotency record), and the rate charge of a request that created nothing.

use super::prelude::*;

impl Store {
    /// The credential behind `secret`, for `vendor`.
    pub async fn authenticate(&self, vendor: Vendor, secret: &str) -> Result<Credential, Error> {
        let mut found = self.authenticate_all(vendor, &[secret]).await?;
        found.credentials.remove(0)
    }

    /// The credentials behind `secrets`, for `vendor`, and the rate window of the first: one
    /// `BatchGetItem` by the secrets' digests (and the first one's counter of the current window).
    /// Each credential is `Err` when unknown, of another vendor, or expired.
    pub async fn authenticate_all(&self, vendor: Vendor, secrets: &[&str]) -> Result<Authenticated, Error> {
        self.authenticate_for(vendor, secrets, None).await
    }

    /// [`Store::authenticate_all`], and in the same round trip the record of the request's
    /// `Idempotency-Key`, if any.
    pub async fn authenticate_for(
        &self,
        vendor: Vendor,
        secrets: &[&str],
        idempotency: Option<&IdempotencyKey>,
    ) -> Result<Authenticated, Error> {
        let rate_key = rate::key_of(vendor, secrets.first().copied().unwrap_or_default());
        self.authenticate_metered(vendor, secrets, &rate_key, false, idempotency, None).await
    }

    /// [`Store::authenticate_for`] metered against the rate key `rate_key` (the first secret's digest, or
    /// another key of the caller: an OAuth client id, an address), with its block when `blocking`. The
    /// window's limit is the first credential's (0 when there is none): the caller may set another.
    /// With `org`, that organization (`tenant`, id) is read in the same round trip, consistently (a read
    /// the path alone names answers in one round trip).
    pub async fn authenticate_metered(
        &self,
        vendor: Vendor,
        secrets: &[&str],
        rate_key: &str,
        blocking: bool,
        idempotency: Option<&IdempotencyKey>,
        org: Option<(&TenantRef, &str)>,
    ) -> Result<Authenticated, Error> {
        let now_s = clock::now_ms().div_euclid(1_000);
        let digests: Vec<String> = secrets.iter().map(|s| crate::secrets::digest(s)).collect();
        let window = now_s.div_euclid(rate::WINDOW_S);
        let mut keys: Vec<Item> = Vec::new();
        for digest in &digests {
            push_once(&mut keys, credential_key(vendor, digest));
        }
        let (window_key, block_key) = (rate_item_key(rate_key, window), rate_block_key(rate_key));
        keys.push(window_key.clone());
        if blocking {
            keys.push(block_key.clone());
        }
        keys.extend(idempotency.map(idempotency_key));
        let org_key = org.map(|(tenant, id)| org_key(tenant, id));
        keys.extend(org_key.clone());
        let found = self.batch_get(keys, org_key.is_some()).await?;
        let item = |key: &Item| found_item(&found, key);
        let credentials: Vec<Result<Credential, Error>> = digests
            .iter()
            .map(|digest| {
                let item = item(&credential_key(vendor, digest))
                    .ok_or(Error::Unauthenticated(AuthFailure::Unknown))?;
                let (credential, _) = credential_from_item(item)?;
                if credential.tenant.vendor != vendor {
                    return Err(Error::Unauthenticated(AuthFailure::Unknown));
                }
                if credential.is_expired_at(now_s) {
                    return Err(Error::Unauthenticated(AuthFailure::Expired));
                }
                Ok(credential)
            })
            .collect();
        let used = item(&window_key).map_or(0, rate_count);
        let limit = credentials.first().and_then(|c| c.as_ref().ok()).map_or(0, |c| c.rate_limit);
        let mut rate = RateWindow::new(rate_key, limit, used, now_s);
        if blocking {
            rate.blocked_until_s = item(&block_key).map_or(0, block_until);
        }
        let prior = live_record(&found, idempotency, now_s)?;
        let org = org_key.and_then(|key| item(&key).map(org_from_item)).transpose()?;
        Ok(Authenticated { credentials, rate, prior, org })
    }

    /// One `BatchGetItem` (unprocessed keys retried twice): the items found, in no particular order.
    pub(super) async fn batch_get(&self, keys: Vec<Item>, consistent: bool) -> Result<Vec<Item>, Error> {
        let mut found: Vec<Item> = Vec::new();
        let mut request = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(consistent)
            .build()
            .expect("keys are set");
        for attempt in 0..3 {
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| unavailable("BatchGetItem", &e))?;
            found.extend(out.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default());
            match out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                // Throttled keys come back unprocessed: ask again after a jittered pause, as AWS advises.
                Some(rest) if !rest.keys().is_empty() && attempt < 2 => {
                    tokio::time::sleep(super::create::jittered_backoff(attempt)).await;
                    request = rest;
                }
                Some(rest) if !rest.keys().is_empty() => {
                    return Err(Error::Unavailable("BatchGetItem: keys left unprocessed".into()))
                }
                _ => break,
            }
        }
        Ok(found)
    }

    /// Several tenants and, optionally, the count of the current window of the rate key `rate_key`
    /// (see [`RateWindow::key`]), in one consistent `BatchGetItem`: for callers that authenticate by
    /// something other than a stored credential (e.g. a signed token naming its tenants). Each tenant is
    /// `None` when it does not exist; the count is 0 without a key or a window.
    pub async fn tenants(
        &self,
        refs: &[TenantRef],
        rate_key: Option<&str>,
        now_s: i64,
    ) -> Result<(Vec<Option<Tenant>>, u32), Error> {
        let (tenants, used, _) = self.tenants_for(refs, rate_key, now_s, None).await?;
        Ok((tenants, used))
    }

    /// [`Store::tenants`], and in the same round trip the record of the request's `Idempotency-Key`.
    pub async fn tenants_for(
        &self,
        refs: &[TenantRef],
        rate_key: Option<&str>,
        now_s: i64,
        idempotency: Option<&IdempotencyKey>,
    ) -> Result<(Vec<Option<Tenant>>, u32, Option<IdempotencyRecord>), Error> {
        let mut keys: Vec<Item> = Vec::new();
        for tenant in refs {
            push_once(&mut keys, tenant_key(tenant));
        }
        let window_key = rate_key.map(|key| rate_item_key(key, now_s.div_euclid(rate::WINDOW_S)));
        keys.extend(window_key.clone());
        keys.extend(idempotency.map(idempotency_key));
        if keys.is_empty() {
            return Ok((Vec::new(), 0, None));
        }
        let found = self.batch_get(keys, true).await?;
        let tenants = refs
            .iter()
            .map(|tenant| found_item(&found, &tenant_key(tenant)).map(tenant_from_item).transpose())
            .collect::<Result<Vec<_>, Error>>()?;
        let used = window_key.and_then(|key| found_item(&found, &key)).map_or(0, rate_count);
        Ok((tenants, used, live_record(&found, idempotency, now_s)?))
    }

    /// The live record of an `Idempotency-Key`, read consistently: for a create that lost the race to a
    /// concurrent duplicate, whose record is therefore committed.
    pub async fn idempotency_record(&self, key: &IdempotencyKey) -> Result<Option<IdempotencyRecord>, Error> {
        let found: Vec<Item> = self.get(idempotency_key(key), true).await?.into_iter().collect();
        live_record(&found, Some(key), clock::now_ms().div_euclid(1_000))
    }

    /// Counts one request in its rate window, for requests that end without a create transaction (which
    /// counts its own). Nothing to do when limiting is off.
    /// Blocks the rate key of `rate` until `until_s` (a vendor's block after a refusal). TTL removes it.
    pub async fn block(&self, rate: &RateWindow, until_s: i64) -> Result<(), Error> {
        let mut item = rate_block_key(&rate.key);
        item.extend([
            ("type".to_owned(), s("rate")),
            ("until".to_owned(), n(until_s)),
            (TTL_ATTRIBUTE.to_owned(), n(until_s + rate::WINDOW_S)),
        ]);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| unavailable("PutItem", &e))?;
        Ok(())
    }

    pub async fn charge(&self, rate: &RateWindow) -> Result<(), Error> {
        if !rate.enabled() {
            return Ok(());
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(rate_item_key(&rate.key, rate.window)))
            .update_expression("SET #type = :type, expires_at = :exp ADD n :one")
            .expression_attribute_names("#type", "type")
            .expression_attribute_values(":type", s("rate"))
            .expression_attribute_values(":exp", n(rate_expiry(rate.window)))
            .expression_attribute_values(":one", n(1))
            .send()
            .await
            .map_err(|e| unavailable("UpdateItem", &e))?;
        Ok(())
    }
}
