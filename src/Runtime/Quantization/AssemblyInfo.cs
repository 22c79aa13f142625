using System.Runtime.CompilerServices;

// quant-compare times the Int8 tile's multiply-and-round loop beside its byte tables in one process (Bf16TileDequantizer's switch).
[assembly: InternalsVisibleTo("ModelGen.Benchmarks")]
