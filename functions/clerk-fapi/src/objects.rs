//! The objects FAPI answers with, complete as its OpenAPI document defines them (clerk-js builds its
//! resources from every field and breaks on half objects): organization, membership, user, session,
//! client. Timestamps are Unix milliseconds.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use orgmint::{ClientSession, Org, Tenant};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::auth::Signed;
use crate::ADMIN_ROLE;

/// Clerk's default organization avatar: what `image_url` is until one is uploaded.
pub const DEFAULT_ORG_IMAGE: &str = "https://img.clerk.com/eyJ0eXBlIjoiZGVmYXVsdCJ9";
/// Clerk's default user avatar.
pub const DEFAULT_USER_IMAGE: &str = "https://img.clerk.com/eyJ0eXBlIjoiZGVmYXVsdCJ9";

/// The system permissions of `org:admin`, as Clerk grants them.
pub const ADMIN_PERMISSIONS: [&str; 6] = [
    "org:sys_profile:manage",
    "org:sys_profile:delete",
    "org:sys_memberships:read",
    "org:sys_memberships:manage",
    "org:sys_domains:read",
    "org:sys_domains:manage",
];

/// A stable id of `prefix` + 27 base62-ish characters derived from `parts` (for objects orgmint does
/// not store apart, such as a membership, whose id must stay the same on every read).
pub fn derived_id(prefix: &str, parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    let encoded: String = URL_SAFE_NO_PAD
        .encode(hash.finalize())
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(27)
        .collect();
    format!("{prefix}{encoded}")
}

/// The organization as stored at its create (Clerk's rendering, kept in the org item).
pub fn organization(org: &Org) -> Value {
    serde_json::from_str(&org.doc).unwrap_or_else(|_| {
        // An org item written by hand or by an older version: its stored fields, Clerk's defaults.
        json!({
            "object": "organization", "id": org.id, "name": org.name, "slug": org.slug,
            "image_url": DEFAULT_ORG_IMAGE, "has_image": false, "members_count": 1,
            "pending_invitations_count": 0, "max_allowed_memberships": crate::DEFAULT_MAX_MEMBERSHIPS,
            "admin_delete_enabled": true, "public_metadata": {}, "created_at": org.created_ms,
            "updated_at": org.created_ms,
        })
    })
}

/// What an organization shows of a member.
pub fn public_user_data(user_id: &str) -> Value {
    json!({
        "user_id": user_id,
        "first_name": null,
        "last_name": null,
        "image_url": DEFAULT_USER_IMAGE,
        "has_image": false,
        "identifier": user_id,
    })
}

/// The user's membership of `org` (its creator: `org:admin`).
pub fn membership(org: &Org, user_id: &str) -> Value {
    json!({
        "object": "organization_membership",
        "id": derived_id("orgmem_", &[&org.id, user_id]),
        "organization": organization(org),
        "public_metadata": {},
        "public_user_data": public_user_data(user_id),
        "role": ADMIN_ROLE,
        "role_name": "Admin",
        "permissions": ADMIN_PERMISSIONS,
        "created_at": org.created_ms,
        "updated_at": org.created_ms,
    })
}

/// The user of `account`, with their memberships (newest first, as Clerk lists them).
pub fn user(account: &Tenant, user_id: &str, orgs: &[Org]) -> Value {
    let mut memberships: Vec<&Org> = orgs.iter().collect();
    memberships.sort_by(|a, b| b.created_ms.cmp(&a.created_ms).then_with(|| a.id.cmp(&b.id)));
    let memberships: Vec<Value> = memberships.into_iter().map(|org| membership(org, user_id)).collect();
    let remaining = account.cap.saturating_sub(account.org_count);
    json!({
        "object": "user",
        "id": user_id,
        "external_id": null,
        "username": null,
        "first_name": null,
        "last_name": null,
        "image_url": DEFAULT_USER_IMAGE,
        "has_image": false,
        "primary_email_address_id": null,
        "primary_phone_number_id": null,
        "primary_web3_wallet_id": null,
        "password_enabled": false,
        "two_factor_enabled": false,
        "totp_enabled": false,
        "backup_code_enabled": false,
        "email_addresses": [],
        "phone_numbers": [],
        "web3_wallets": [],
        "passkeys": [],
        "external_accounts": [],
        "saml_accounts": [],
        "enterprise_accounts": [],
        "organization_memberships": memberships,
        "public_metadata": {},
        "unsafe_metadata": {},
        "last_sign_in_at": null,
        "banned": false,
        "locked": false,
        "lockout_expires_in_seconds": null,
        "verification_attempts_remaining": null,
        "delete_self_enabled": false,
        "create_organization_enabled": remaining > 0,
        "create_organizations_limit": account.cap,
        "last_active_at": account.created_ms,
        "legal_accepted_at": null,
        "mfa_enabled_at": null,
        "mfa_disabled_at": null,
        "created_at": account.created_ms,
        "updated_at": account.created_ms,
    })
}

/// The client's session, its user in it. `active_org` is the session's active organization while it is one
/// of the user's (a deleted one leaves the personal account active).
pub fn session(client: &ClientSession, user: Value, active_org: Option<&str>) -> Value {
    json!({
        "object": "session",
        "id": client.session_id,
        "status": client.status,
        "expire_at": client.expires_ms,
        "abandon_at": client.expires_ms,
        "last_active_at": client.updated_ms,
        "last_active_organization_id": active_org,
        "last_active_token": null,
        "actor": null,
        "tasks": null,
        // Minutes since the first and second factor were verified (-1: never): signed in by the CLI.
        "factor_verification_age": [0, -1],
        "public_user_data": public_user_data(&client.user_id),
        "user": user,
        "created_at": client.created_ms,
        "updated_at": client.updated_ms,
    })
}

/// The client: its session while signed in at `now_ms`, none after.
pub fn client(signed: &Signed, now_ms: i64) -> Value {
    let client = &signed.client;
    let sessions: Vec<Value> = match client.is_active_at(now_ms) {
        true => vec![signed_session(signed)],
        false => Vec::new(),
    };
    let last_active = (!sessions.is_empty()).then_some(client.session_id.as_str());
    json!({
        "object": "client",
        "id": client.client_id,
        "sessions": sessions,
        "sign_in": null,
        "sign_up": null,
        "last_active_session_id": last_active,
        "last_authentication_strategy": null,
        "cookie_expires_at": null,
        "captcha_bypass": false,
        "created_at": client.created_ms,
        "updated_at": client.updated_ms,
    })
}

/// The client's session object, as touch answers it.
pub fn signed_session(signed: &Signed) -> Value {
    session(&signed.client, user(&signed.account, &signed.client.user_id, &signed.orgs), signed.active_org())
}
