//! `plaza`: the Plaza server binary.

fn main() -> anyhow::Result<()> {
    println!("plaza: server not built yet");
    Ok(())
}
