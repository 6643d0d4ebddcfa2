//! `netpol completions SHELL` and `netpol man`: shell completion scripts (clap_complete) and the
//! man page (clap_mangen), both generated from the same command definitions as the parser, so
//! they never fall behind it.

use super::{Cli, EXIT_IO, EXIT_OK};
use clap::CommandFactory;
use std::io::Write as _;

/// Writes the completion script for `shell` to stdout.
pub(crate) fn completions(shell: clap_complete::Shell) -> i32 {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "netpol", &mut out);
    emit(&out)
}

/// Writes a man page (roff) to stdout: netpol(1), or netpol-COMMAND(1) for one command.
pub(crate) fn man(command: Option<&str>) -> i32 {
    let mut cmd = Cli::command();
    let page = match command {
        None => cmd,
        Some(name) => {
            cmd.build();
            let names: Vec<String> = cmd.get_subcommands().map(|c| c.get_name().to_string()).collect();
            match cmd.find_subcommand(name) {
                Some(sub) => {
                    let title = format!("netpol-{}", sub.get_name());
                    sub.clone()
                        .name(title.clone())
                        .bin_name(format!("netpol {}", sub.get_name()))
                        .display_name(title)
                }
                None => {
                    eprintln!("netpol: no command `{name}`; the commands are: {}", names.join(", "));
                    return super::EXIT_USAGE;
                }
            }
        }
    };
    let mut out = Vec::new();
    if let Err(e) = clap_mangen::Man::new(page).render(&mut out) {
        eprintln!("netpol: could not render the man page: {e}");
        return EXIT_IO;
    }
    emit(&out)
}

fn emit(bytes: &[u8]) -> i32 {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|_| stdout.flush()) {
        Ok(()) => EXIT_OK,
        // A closed pipe (`| head`) ends quietly, as for every command.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(e) => {
            eprintln!("netpol: {e}");
            EXIT_IO
        }
    }
}
