// Free TCP ports for tests that start servers (see src/stack/free-port.ts).
export { freePort, freePorts } from '../../src/stack/free-port.ts';
