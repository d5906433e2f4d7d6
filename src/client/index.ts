// Public API of src/client: createClient, presets, the options schema and its validation.
export { createClient, emitProcessWarning, type CreateClientOptions } from './create-client.js';
export { validateClientOptions, type ConfigWarning, type OptionSource, type ValidatedClientOptions } from './validate.js';
export { CLIENT_OPTIONS, MAX_TIMER_MS, findOption, type OptionSpec, type OptionType, type OptionCategory } from './options-schema.js';
export { PRESETS, PRESET_NAMES, presetOptions, type Preset, type PresetName, type PresetValue } from './presets.js';
export { suggest } from './suggest.js';
export { trackInflight, getInflightTracker, InflightTracker } from './inflight.js';
