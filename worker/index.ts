import { app } from './app';

export { SessionState } from './session/durable-object';

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
