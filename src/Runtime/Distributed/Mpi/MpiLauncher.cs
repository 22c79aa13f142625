using System;
using System.Globalization;

namespace ModelGen.Distributed.Mpi
{
    /// <summary>What the environment says about the launcher that started this process, if any.</summary>
    /// <param name="Launched">Whether an MPI launcher (mpirun, mpiexec, srun with PMI/PMIx) started this process.</param>
    /// <param name="Size">The world size the launcher announced, when it announces one.</param>
    /// <param name="Rank">This process's rank the launcher announced, when it announces one.</param>
    /// <param name="Flavor">The implementation the launcher belongs to, when its variables tell.</param>
    /// <param name="Evidence">The variable that decided, e.g. "OMPI_COMM_WORLD_SIZE=2", for messages.</param>
    internal readonly record struct MpiLauncher(bool Launched, int? Size, int? Rank, MpiFlavor? Flavor, string Evidence)
    {
        /// <summary>Reads the launcher variables of Open MPI (OMPI_COMM_WORLD_*), PMIx (PMIX_RANK), and MPICH's Hydra or any PMI-1 launcher (PMI_SIZE, PMI_RANK).</summary>
        public static MpiLauncher Detect(Func<string, string?>? environment = null)
        {
            environment ??= Environment.GetEnvironmentVariable;
            int? Number(string name) => int.TryParse(environment(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;

            if (Number("OMPI_COMM_WORLD_SIZE") is { } ompiSize)
                return new(true, ompiSize, Number("OMPI_COMM_WORLD_RANK"), MpiFlavor.OpenMpi, $"OMPI_COMM_WORLD_SIZE={ompiSize}");
            if (Number("PMI_SIZE") is { } pmiSize)
                return new(true, pmiSize, Number("PMI_RANK"), MpiFlavor.Mpich, $"PMI_SIZE={pmiSize}");
            if (Number("PMIX_RANK") is { } pmixRank)
                return new(true, null, pmixRank, null, $"PMIX_RANK={pmixRank}");
            return new(false, null, null, null, "no MPI launcher variables (OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_RANK)");
        }
    }
}
