fn main() {
    std::process::exit(netpol::cli::main());
}
