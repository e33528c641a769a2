//! `petty`: the Petty API from a terminal. See `petty --help`; the exit codes are in
//! [`exit::Exit`] and in the README.
//!
//! This file parses the command line and dispatches: the commands are in [`commands`] (one
//! module per group), their arguments in [`cli`], the failures and exit codes in [`exit`], what
//! people read in [`render`], the session on disk in [`session`].

mod cli;
mod commands;
mod exit;
mod render;
mod session;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::commands::{
    account, accounts, admin, alert_settings, alerts, api_keys, collars, export, feedback, health, ingest, members,
    notifications, password, plan, realtime, sessions, simulate, summary, timeline, webhooks, zones,
};
use crate::exit::{Exit, Failure, Outcome, fail};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(Failure::new(Exit::Other, e.to_string())),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => fail(f),
    }
}

async fn run(cli: Cli) -> Outcome {
    let c = commands::connect(&cli)?;
    let json = cli.json;
    match &cli.command {
        Command::Register(a) => accounts::register(&c, a, json).await,
        Command::Login(a) => accounts::login(&c, a, json).await,
        Command::Logout => accounts::logout(&c, cli.api.trim_end_matches('/')).await,
        Command::Whoami => accounts::whoami(&c, json).await,
        Command::Password(cmd) => password::run(&c, cmd, json).await,
        Command::Sessions(a) => sessions::run(&c, a, cli.api.trim_end_matches('/'), json).await,
        Command::Account(cmd) => account::run(&c, cmd, cli.api.trim_end_matches('/'), json).await,
        Command::Export(a) => export::run(&c, a, json).await,
        Command::Collars(cmd) => collars::run(&c, cmd, json).await,
        Command::Members(a) => members::run(&c, a, json).await,
        Command::Admin(cmd) => admin::run(&c, cmd, json).await,
        Command::ApiKeys(cmd) => api_keys::run(&c, cmd, json).await,
        Command::Ingest { file } => ingest::run(&c, file, json).await,
        Command::Simulate(a) => simulate::run(&c, a, json).await,
        Command::Realtime(a) => realtime::run(&c, a, json).await,
        Command::Timeline(a) => timeline::run(&c, a, json).await,
        Command::Summary(a) => summary::run(&c, a, json).await,
        Command::Feedback(a) => feedback::run(&c, a, json).await,
        Command::Zones(cmd) => zones::run(&c, cmd, json).await,
        Command::Alerts(a) => alerts::run(&c, a, json).await,
        Command::AlertSettings(a) => alert_settings::run(&c, a, json).await,
        Command::Webhooks(cmd) => webhooks::run(&c, cmd, json).await,
        Command::Notifications(cmd) => notifications::run(&c, cmd, json).await,
        Command::Plan { collar } => plan::run(&c, collar, json).await,
        Command::Health { ready } => health::run(&c, *ready, json).await,
    }
}
