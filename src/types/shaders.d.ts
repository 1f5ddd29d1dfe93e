// The browser bundle's virtual module: every shaders/*.wgsl file's text by file name (scripts/build.mjs inlines them).
declare module 'tqhash:shaders' {
  const shaders: Record<string, string>;
  export default shaders;
}
