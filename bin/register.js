// `node --import partita/register …`: lets plain Node (e.g. `node --test`) load
// TypeScript apps and Partita's own sources through tsx, as the `partita` command does.
import { register } from 'tsx/esm/api';

register();
