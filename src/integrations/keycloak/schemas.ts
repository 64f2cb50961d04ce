import { z } from "zod";

/**
 * What Keycloak's answers must look like before anything of ours relies on them. Unknown
 * fields pass (Keycloak adds claims with mappers); missing or mistyped required ones fail.
 */
export const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  expires_in: z.number().int().nonnegative(),
  refresh_expires_in: z.number().int().nonnegative().default(0),
  refresh_token: z.string().min(1).optional(),
  token_type: z.string().refine((type) => type.toLowerCase() === "bearer"),
  id_token: z.string().min(1).optional(),
  "not-before-policy": z.number().int().optional(),
  session_state: z.string().min(1).optional(),
  scope: z.string().default(""),
});

const rolesSchema = z.object({ roles: z.array(z.string()) });

const activeIntrospectionSchema = z.looseObject({
  active: z.literal(true),
  iss: z.string().min(1),
  exp: z.number().int(),
  iat: z.number().int(),
  client_id: z.string().min(1),
  sub: z.string().min(1).optional(),
  aud: z.union([z.string(), z.array(z.string())]).optional(),
  azp: z.string().optional(),
  typ: z.string().optional(),
  token_type: z.string().optional(),
  scope: z.string().optional(),
  sid: z.string().optional(),
  username: z.string().optional(),
  preferred_username: z.string().optional(),
  email: z.string().optional(),
  email_verified: z.boolean().optional(),
  name: z.string().optional(),
  given_name: z.string().optional(),
  family_name: z.string().optional(),
  realm_access: rolesSchema.optional(),
  resource_access: z.record(z.string(), rolesSchema).optional(),
});

/** RFC 7662: an inactive token tells nothing more; extra fields are dropped, not trusted. */
const inactiveIntrospectionSchema = z.object({ active: z.literal(false) });

export const introspectionSchema = z.discriminatedUnion("active", [
  activeIntrospectionSchema,
  inactiveIntrospectionSchema,
]);

export type IntrospectionResult = z.infer<typeof introspectionSchema>;
export type ActiveIntrospection = z.infer<typeof activeIntrospectionSchema>;

export const userinfoSchema = z.looseObject({
  sub: z.string().min(1),
  email: z.string().optional(),
  email_verified: z.boolean().optional(),
  preferred_username: z.string().optional(),
  given_name: z.string().optional(),
  family_name: z.string().optional(),
  name: z.string().optional(),
});

export type UserInfo = z.infer<typeof userinfoSchema>;

export const openidConfigurationSchema = z.looseObject({
  issuer: z.string().min(1),
  token_endpoint: z.string().min(1),
  jwks_uri: z.string().min(1),
  introspection_endpoint: z.string().min(1).optional(),
  userinfo_endpoint: z.string().min(1).optional(),
  end_session_endpoint: z.string().min(1).optional(),
  grant_types_supported: z.array(z.string()).optional(),
  id_token_signing_alg_values_supported: z.array(z.string()).optional(),
});

export type OpenIdConfiguration = z.infer<typeof openidConfigurationSchema>;

export const userRepresentationSchema = z.looseObject({
  id: z.string().min(1),
  username: z.string().min(1),
  email: z.string().optional(),
  firstName: z.string().optional(),
  lastName: z.string().optional(),
  enabled: z.boolean(),
  emailVerified: z.boolean().optional(),
  createdTimestamp: z.number().optional(),
  requiredActions: z.array(z.string()).optional(),
});

export type KeycloakUser = z.infer<typeof userRepresentationSchema>;

export const clientRepresentationSchema = z.looseObject({
  id: z.string().min(1),
  clientId: z.string().min(1),
  enabled: z.boolean().optional(),
  publicClient: z.boolean().optional(),
  serviceAccountsEnabled: z.boolean().optional(),
  directAccessGrantsEnabled: z.boolean().optional(),
});

export type KeycloakClientRepresentation = z.infer<typeof clientRepresentationSchema>;

export const clientSecretSchema = z.object({
  type: z.string(),
  value: z.string().min(1).optional(),
});
