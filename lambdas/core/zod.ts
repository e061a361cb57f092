/**
 * zod's English messages for the Lambda code, set once. The Lambda code imports zod's tree-shakable
 * "mini" API (`import * as z from 'zod/mini'`) plus this file: `import { z } from 'zod'` would
 * bundle every locale (about 450 KB of the 250 KB a function may weigh); this is about 20 KB, with
 * the same messages. The CLI and the local runtime, which are not bundled into functions, may use
 * the classic API.
 */
import { config } from 'zod/mini';
import { en } from 'zod/locales';

config(en());
