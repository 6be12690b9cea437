export const CATALOGUE_OPTIONS = Symbol('CATALOGUE_OPTIONS');

export interface CatalogueOptions {
  /** The service that keeps the copy: it names the durable consumers `<service>-launchers`, `-projects`, `-environments`. */
  service: string;
}
