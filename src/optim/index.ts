// Optimisers (kernels) and learning-rate schedules (host).
export {};
