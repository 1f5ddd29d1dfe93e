// Every op family: forward dispatch beside its backward rule (registered with defineBackward).
export * from './grid.js';
export * from './shape.js';
