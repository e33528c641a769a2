//! Integration tests: the common crate and the functions' handlers against moto, through the
//! real AWS SDK. One binary with modules, because every test binary links the whole SDK.

mod accounts;
mod alerts;
mod auth;
mod data;
mod devices;
mod dynamo;
mod e2e;
mod feedback;
mod health;
mod households;
mod http;
mod journey;
mod notifications;
mod openapi;
mod secrets;
mod template;
mod timeline;
mod wire;
mod xray;
