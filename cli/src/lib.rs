//! The admin CLI's library: tenant provisioning per vendor, shared with the end-to-end tests so that they
//! provision exactly as operators do.

pub mod vendors;
