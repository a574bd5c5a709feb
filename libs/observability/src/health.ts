export type ComponentState = { healthy: boolean; detail?: string };

/** Components report their state; /health is 200 only while every registered component is healthy. */
export class HealthRegistry {
  private readonly components = new Map<string, ComponentState>();

  set(component: string, healthy: boolean, detail?: string): void {
    this.components.set(component, { healthy, detail });
  }

  remove(component: string): void {
    this.components.delete(component);
  }

  report(): { status: 'ok' | 'unhealthy'; components: Record<string, ComponentState> } {
    const components = Object.fromEntries(this.components);
    const healthy = [...this.components.values()].every((c) => c.healthy);
    return { status: healthy ? 'ok' : 'unhealthy', components };
  }
}
