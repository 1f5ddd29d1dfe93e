// hash: see the modules of this folder.
export {};
