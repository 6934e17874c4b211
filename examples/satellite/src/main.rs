//! Run: `cargo run -p example-satellite` with the seed's satellite variables (CLERK_IS_SATELLITE,
//! CLERK_DOMAIN, CLERK_SIGN_IN_URL, ... or a `.env` file); listens on PORT (default 3001).

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let orbit = orbit_sdk::Orbit::new(orbit_sdk::OrbitConfig::from_env()?)?;
    let port = std::env::var("PORT").unwrap_or_else(|_| "3001".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("Satellite app on http://localhost:{port}");
    axum::serve(listener, example_satellite::app(orbit)).await?;
    Ok(())
}
