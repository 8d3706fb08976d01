/** A migration file imported as its text (inlined by the build, loaded as text by the tests). */
declare module "*.sql" {
  const text: string;
  export default text;
}
