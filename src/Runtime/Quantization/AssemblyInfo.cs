using System.Runtime.CompilerServices;

// quant-compare times the Int8 tile's converting loop beside its byte tables in one process (Bf16TileDequantizer's switch), and the tile parts alone.
[assembly: InternalsVisibleTo("ModelGen.Benchmarks")]
