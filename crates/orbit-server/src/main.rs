use clap::Parser;

fn main() -> std::process::ExitCode {
    return_freed_memory_to_the_os();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(run()),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// argon2 allocates `argon2_memory_kib` (19 MiB by default) per hash. glibc raises its mmap
/// threshold after such blocks are freed and then keeps them in its heaps, so a burst of sign-ins
/// would leave hundreds of MB resident. A fixed threshold makes big blocks mmap'd and returned
/// on free.
fn return_freed_memory_to_the_os() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tunables; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
    }
}

async fn run() -> std::process::ExitCode {
    let cli = orbit_server::cli::Cli::parse();
    match orbit_server::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
