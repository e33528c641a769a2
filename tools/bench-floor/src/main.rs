//! The floor for `make bench`: the smallest `lambda_http` function, with the same features,
//! runtime flavour and release profile as the functions. Every function's cold start, warm
//! latency, RSS and size are reported as a ratio to this binary's.

use lambda_http::{Body, Error, Request, Response, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(service_fn(|_req: Request| async {
        Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Body::from(r#"{"message":"hello"}"#))
            .map_err(Error::from)
    }))
    .await
}
