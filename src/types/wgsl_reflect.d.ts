// wgsl_reflect's package `main` is CommonJS inside a "type": "module" package, so we import its ES module file
// directly (DESIGN.md, package notes); this maps that path to the package's own type declarations.
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export * from 'wgsl_reflect';
}
