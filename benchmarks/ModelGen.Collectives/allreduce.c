/* The reference for ModelGen's all-reduce benchmark: MPI_Allreduce (in place, float, sum) called from C on the same
 * buffer sizes, iteration counts and timing rule as Program.cs, so the two columns differ only by the binding.
 * Build and run (docs/distributed.md): mpicc -O2 allreduce.c -o allreduce && mpirun -np 2 ./allreduce
 * Prints one line per size: "bytes seconds_per_all_reduce": the iterations run in 10 bursts; a burst's time is the
 * slowest rank's mean, and the line gives the fastest burst (on a shared machine, the one least disturbed). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BURSTS 10

static int iterations_for(long bytes)
{
    long n = (1024L << 20) / bytes; /* about 1 GiB of payload per size, at least 50 calls (5 per burst) */
    return (int)(n < 50 ? 50 : n > 5000 ? 5000 : n);
}

int main(int argc, char **argv)
{
    int rank, provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided); /* the thread level ModelGen asks for */
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (argc > 1 && strcmp(argv[1], "callcost") == 0) {
        /* The fixed cost of one call: a one-float in-place all-reduce on one rank moves no data. Best of 10 bursts. */
        float value = 0;
        double best = 1e30, warm = MPI_Wtime();
        while (MPI_Wtime() - warm < 0.5) MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        for (int burst = 0; burst < BURSTS; burst++) {
            double start = MPI_Wtime();
            for (int i = 0; i < 100000; i++) MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            double elapsed = (MPI_Wtime() - start) / 100000;
            if (elapsed < best) best = elapsed;
        }
        printf("%.1f\n", best * 1e9);
        MPI_Finalize();
        return 0;
    }
    for (long bytes = 4096; bytes <= (64L << 20); bytes *= 4) {
        int count = (int)(bytes / sizeof(float)), iterations = iterations_for(bytes);
        /* Allocated as libtorch's CPU allocator allocates a tensor (64-byte aligned, zero-filled), so the two programs hand MPI
         * the same kind of memory: with calloc's 16-byte aligned, lazily zeroed pages the C program ran 64 MiB 10–15 % faster
         * in some runs (docs/distributed.md), a difference of the buffer, not of the binding. */
        float *buffer = NULL;
        if (posix_memalign((void **)&buffer, 64, (size_t)bytes) != 0) return 1;
        memset(buffer, 0, (size_t)bytes);
        /* Warm-up: at least 5 calls and 0.3 s (rank 0's clock decides, so both ranks make the same calls), as Program.cs does,
         * where the time lets .NET's tiered compilation replace the first, unoptimized code before anything is timed. */
        double warm = MPI_Wtime();
        for (int go = 1, i = 0; go; i++) {
            MPI_Allreduce(MPI_IN_PLACE, buffer, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            go = i < 5 || MPI_Wtime() - warm < 0.3;
            MPI_Bcast(&go, 1, MPI_INT, 0, MPI_COMM_WORLD);
        }
        double best = 1e30;
        for (int burst = 0; burst < BURSTS; burst++) {
            MPI_Barrier(MPI_COMM_WORLD);
            double start = MPI_Wtime();
            for (int i = 0; i < iterations / BURSTS; i++) MPI_Allreduce(MPI_IN_PLACE, buffer, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            double elapsed = (MPI_Wtime() - start) / (iterations / BURSTS), slowest;
            MPI_Allreduce(&elapsed, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
            if (slowest < best) best = slowest;
        }
        if (rank == 0) printf("%ld %.9f\n", bytes, best);
        free(buffer);
    }
    MPI_Finalize();
    return 0;
}
