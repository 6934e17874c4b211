use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = orbit_server::cli::Cli::parse();
    match orbit_server::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
