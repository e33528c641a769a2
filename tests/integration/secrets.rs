//! Secrets Manager through the real SDK: reads, a missing secret, and picking up a rotation.

use std::time::Duration;

use petty_shared::jwt::{Signer, TokenType};
use petty_shared::keygen;
use petty_shared::secrets::{CacheSettings, SecretError, SecretSource, SecretsManagerSource};
use petty_tests::{Keys, claims, put_secret, sdk, secret_cache, unique, verifier};

#[tokio::test]
async fn reads_and_reports_missing_secrets() {
    let sm = petty_shared::aws::secrets_manager(&sdk().await);
    let id = unique("secret");
    put_secret(&sm, &id, "s3cr3t-value").await;
    let source = SecretsManagerSource::new(sm);
    assert_eq!(source.fetch(&id).await.unwrap().expose(), "s3cr3t-value");
    let missing = unique("missing");
    assert_eq!(source.fetch(&missing).await.unwrap_err(), SecretError::NotFound(missing));
}

#[tokio::test]
async fn cache_serves_until_ttl_then_sees_the_new_value() {
    let sm = petty_shared::aws::secrets_manager(&sdk().await);
    let id = unique("ttl");
    put_secret(&sm, &id, "v1").await;
    let cache = secret_cache(sm.clone(), CacheSettings { ttl: Duration::from_millis(300), ..CacheSettings::default() });
    assert_eq!(cache.get(&id).await.unwrap().value.expose(), "v1");
    put_secret(&sm, &id, "v2").await;
    assert_eq!(cache.get(&id).await.unwrap().value.expose(), "v1", "fresh within the TTL");
    tokio::time::sleep(Duration::from_millis(350)).await;
    let after = cache.get(&id).await.unwrap();
    assert_eq!((after.value.expose(), after.version), ("v2", 2));
}

#[tokio::test]
async fn verifier_picks_up_a_rotation_at_once() {
    let sm = petty_shared::aws::secrets_manager(&sdk().await);
    let keys = Keys::stored(&sm).await;
    // A long TTL: only the unknown-kid refresh can explain the new key being accepted.
    let cache = secret_cache(
        sm.clone(),
        CacheSettings {
            ttl: Duration::from_secs(3600),
            min_refresh_interval: Duration::ZERO,
            ..CacheSettings::default()
        },
    );
    let verifier = verifier(cache, &keys.jwks_secret_id);
    let old_token = keys.access_token("user-1", &[]);
    verifier.verify(&old_token, TokenType::Access).await.unwrap();

    let next = keygen::generate(&unique("kid"));
    put_secret(&sm, &keys.jwks_secret_id, &keygen::jwks_json(&[&next, &keys.key])).await;
    let new_signer = Signer::from_json(&keygen::signing_set_json(&next.kid, &[&next, &keys.key])).unwrap();
    let new_token = new_signer.sign(&claims("user-1", &[], TokenType::Access)).unwrap();
    assert_eq!(verifier.verify(&new_token, TokenType::Access).await.unwrap().sub, "user-1");
    assert!(verifier.verify(&old_token, TokenType::Access).await.is_ok(), "tokens of the previous key stay valid");
}
