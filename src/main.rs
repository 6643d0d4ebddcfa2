/// mimalloc: the compiler allocates many small strings, sets and vectors, on every core.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    netpol::alloc::tune();
    std::process::exit(netpol::cli::main());
}
