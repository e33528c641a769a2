//! `petty admin register|reset-code`: the operators' routes (a session with the `admin` scope).

use std::io::Write;
use std::path::{Path, PathBuf};

use petty_client::Client;
use petty_client::types::{IotIdentity, RegisteredCollar, RegisteredCollars, RegistrationStatus};

use super::print_json;
use crate::cli::AdminCmd;
use crate::exit::{Exit, Failure, Outcome};
use crate::render;

/// Serials sent per request (the API takes 1 to this many).
const PER_REQUEST: usize = petty_client::types::MAX_REGISTRATIONS;

/// `--json` prints the API's [`RegisteredCollars`] (`register`: every request's rows in the
/// order given, IoT certificates and private keys included, and then nothing is written to
/// files) or [`ClaimCodeReset`](petty_client::types::ClaimCodeReset) (`reset-code`).
pub async fn run(c: &Client, cmd: &AdminCmd, json: bool) -> Outcome {
    match cmd {
        AdminCmd::Register { collars, iot, out } => register(c, collars, *iot, out.as_deref(), json).await,
        AdminCmd::ResetCode { collar } => {
            let reset = c.reset_claim_code(collar).await?;
            if json {
                print_json(&reset);
            } else {
                println!("{}  new claim code {}", reset.collar_id, reset.claim_code);
                eprintln!("shown once: the previous code no longer works");
            }
            Ok(())
        }
    }
}

async fn register(c: &Client, collars: &[String], iot: bool, out: Option<&Path>, json: bool) -> Outcome {
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = collars.iter().find(|id| !seen.insert(id.as_str())) {
        return Err(Failure::new(Exit::Usage, format!("{twice} is listed twice")));
    }
    let dir = out.unwrap_or(Path::new("."));
    // Checked before anything is registered: a key is shown once, so it must have somewhere to go.
    if iot && !json {
        prepare_dir(dir)?;
        for id in collars {
            for path in identity_paths(dir, id) {
                if path.exists() {
                    return Err(Failure::new(
                        Exit::Usage,
                        format!("{} exists: not overwritten (choose another --out)", path.display()),
                    ));
                }
            }
        }
    }
    let mut all = RegisteredCollars { collars: Vec::with_capacity(collars.len()) };
    for chunk in collars.chunks(PER_REQUEST) {
        let batch: Vec<(&str, bool)> = chunk.iter().map(|id| (id.as_str(), iot)).collect();
        all.collars.extend(c.register_collars(&batch).await?.collars);
    }
    if json {
        print_json(&all);
        return Ok(());
    }
    let mut written = Vec::new();
    for row in &all.collars {
        if let Some(identity) = &row.iot {
            written.push((row.collar_id.clone(), write_identity(dir, &row.collar_id, identity)?));
        }
    }
    print!("{}", render::table(&["COLLAR", "STATUS", "CLAIM CODE"], &all.collars.iter().map(row).collect::<Vec<_>>()));
    for (collar, [cert, key]) in &written {
        println!("{collar}: IoT certificate written to {}, private key to {} (0600)", cert.display(), key.display());
    }
    let fresh = all.collars.iter().filter(|r| r.status == RegistrationStatus::Registered).count();
    eprintln!(
        "{fresh} registered, {} already registered; codes are shown once (lost: petty admin reset-code COLLAR)",
        all.collars.len() - fresh
    );
    if iot && written.len() < fresh {
        return Err(Failure::new(Exit::Other, "the API returned no IoT identity for some new collars"));
    }
    Ok(())
}

fn row(r: &RegisteredCollar) -> Vec<String> {
    let status = match r.status {
        RegistrationStatus::Registered => "registered",
        RegistrationStatus::Exists => "exists",
    };
    let code = match (&r.claim_code, r.status) {
        (Some(code), _) => code.clone(),
        (None, RegistrationStatus::Exists) => "(not shown again)".to_owned(),
        (None, RegistrationStatus::Registered) => "-".to_owned(),
    };
    vec![r.collar_id.clone(), status.to_owned(), code]
}

/// `<dir>/<collar>.cert.pem` and `<dir>/<collar>.private.key`.
fn identity_paths(dir: &Path, collar: &str) -> [PathBuf; 2] {
    [dir.join(format!("{collar}.cert.pem")), dir.join(format!("{collar}.private.key"))]
}

fn prepare_dir(dir: &Path) -> Result<(), Failure> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| Failure::new(Exit::Other, format!("{}: {e}", dir.display())))
}

/// Writes the certificate and the private key, each to a new 0600 file.
fn write_identity(dir: &Path, collar: &str, identity: &IotIdentity) -> Result<[PathBuf; 2], Failure> {
    let paths = identity_paths(dir, collar);
    for (path, text) in paths.iter().zip([&identity.certificate_pem, &identity.private_key]) {
        let fail = |e: std::io::Error| Failure::new(Exit::Other, format!("{}: {e}", path.display()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(fail)?;
        file.write_all(text.as_bytes()).map_err(fail)?;
        file.sync_all().map_err(fail)?;
    }
    Ok(paths)
}
