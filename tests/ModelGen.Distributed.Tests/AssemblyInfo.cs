// One MPI job at a time: jobs of 4 ranks on a 2-core machine already oversubscribe it, and the failure tests time how
// fast a job ends, which concurrent jobs would blur.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
