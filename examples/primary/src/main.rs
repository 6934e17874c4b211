//! Run: `cargo run -p example-primary` with CLERK_PUBLISHABLE_KEY and CLERK_SECRET_KEY set (or in
//! a `.env` file); listens on PORT (default 3000).

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let orbit = orbit_sdk::Orbit::new(orbit_sdk::OrbitConfig::from_env()?)?;
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("Primary app on http://localhost:{port}");
    axum::serve(listener, example_primary::app(orbit)).await?;
    Ok(())
}
