extension KernelSource {
    /// Row gathers and scatters: embedding lookups and their gradients, gatherRows and
    /// scatterAddRows. One block per output row, threads over columns. An index outside its
    /// table is reported through the error word (op check 1) and the row is left alone.
    public static let rows = KernelSource(name: "rows", entries: [
        "tailor_gather_rows", "tailor_scatter_add_rows_f32",
    ], code: #"""
    // ids[blockIdx.x] when it is a row of the table; otherwise reported (thread 0) and -1.
    __device__ __forceinline__ int checked_row(const int *ids, int rows, int *error, int check) {
        int n = blockIdx.x, id = ids[n];
        if (id >= 0 && id < rows) return id;
        if (threadIdx.x == 0) report_error(error, check, n, id);
        return -1;
    }

    // out[n, :] = table[ids[n], :] widened to f32; table [rows, cols] of dtype code tableType.
    // blockIdx.x = n. Used by embeddingForward and gatherRows.
    extern "C" __global__ void tailor_gather_rows(const int *ids, const void *table, int tableType, float *out,
                                                  int rows, int cols, int *error, int check) {
        int n = blockIdx.x, id = checked_row(ids, rows, error, check);
        if (id < 0) return;
        for (int c = threadIdx.x; c < cols; c += blockDim.x)
            out[(long long)n * cols + c] = load_as_float(table, (long long)id * cols + c, tableType);
    }

    // table[ids[n], :] += source[n, :] (atomically: ids repeat). Used by embeddingBackward and scatterAddRows.
    extern "C" __global__ void tailor_scatter_add_rows_f32(const int *ids, const float *source, float *table,
                                                           int rows, int cols, int *error, int check) {
        int n = blockIdx.x, id = checked_row(ids, rows, error, check);
        if (id < 0) return;
        for (int c = threadIdx.x; c < cols; c += blockDim.x)
            atomicAdd(&table[(long long)id * cols + c], source[(long long)n * cols + c]);
    }
    """#)
}
