import type { TestProject } from 'vitest/node';

export default async function setup(project: TestProject) {
  project.provide('demoModel', { onnxBase64: '', manifest: '{}', catalog: '[]' });
}
