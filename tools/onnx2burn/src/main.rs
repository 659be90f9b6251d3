//! Usage: onnx2burn MODEL.onnx OUT_DIR — writes OUT_DIR/<model>.rs and OUT_DIR/<model>.bpk.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, out_dir] = args.as_slice() else {
        eprintln!("usage: onnx2burn MODEL.onnx OUT_DIR");
        std::process::exit(2);
    };
    burn_onnx::ModelGen::new().input(input).out_dir(out_dir).run_from_cli();
}
