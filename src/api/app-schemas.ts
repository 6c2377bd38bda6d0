/** Bodies of the application routes: the config file's own schema (AppAdmin checks a body with it), and merge patches of it. */
import { appSettings } from '../config/schema.js';
import { z } from './schema.js';

/** An application's settings as the config file takes them (omitted keys take their defaults). */
export const AppSettingsBody = appSettings.meta({
  id: 'AppSettings',
  description: 'Application settings as the config file takes them (README: Configuration, Storage, Playback, Publish security, Webhooks). Omitted keys take their defaults.',
});

/** A JSON merge patch (RFC 7386) of AppSettings: objects merge, `null` resets a key to its default, arrays replace. */
export const MergePatch = z.record(z.string(), z.unknown()).describe('a merge patch of AppSettings');
