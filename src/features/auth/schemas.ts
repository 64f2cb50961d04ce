import { z } from "@hono/zod-openapi";

export const LoginRequestSchema = z
  .object({
    username: z.string().trim().min(3).max(50).openapi({ example: "superadmin" }),
    password: z
      .string()
      .min(8)
      .max(100)
      .openapi({ example: "NeoAdmin-local-2026", format: "password" }),
    remember_me: z
      .boolean()
      .default(false)
      .openapi({ description: "Also set the refresh token as an HttpOnly cookie." }),
  })
  .strict()
  .openapi("LoginRequest");

export const RefreshRequestSchema = z
  .object({
    refresh_token: z
      .string()
      .min(1)
      .max(8192)
      .optional()
      .openapi({ description: "Omit to use the refresh-token cookie set by login." }),
  })
  .strict()
  .openapi("RefreshRequest");

export const LogoutRequestSchema = z
  .object({
    refresh_token: z.string().min(1).max(8192).optional(),
    everywhere: z
      .boolean()
      .default(false)
      .openapi({ description: "End every session of this user, not only this one." }),
  })
  .strict()
  .openapi("LogoutRequest");

const password = z
  .string()
  .min(12, "expected at least 12 characters")
  .max(100)
  .refine((v) => /[a-z]/.test(v) && /[A-Z]/.test(v) && /[0-9]/.test(v), {
    message: "expected upper- and lower-case letters and a digit",
  });

export const ChangePasswordRequestSchema = z
  .object({
    current_password: z.string().min(1).max(100),
    new_password: password,
    confirm_password: z.string().min(1).max(100),
  })
  .strict()
  .refine((v) => v.new_password === v.confirm_password, {
    path: ["confirm_password"],
    message: "expected the same value as new_password",
  })
  .refine((v) => v.new_password !== v.current_password, {
    path: ["new_password"],
    message: "expected a password different from the current one",
  })
  .openapi("ChangePasswordRequest");

export const ForgotPasswordRequestSchema = z
  .object({
    login: z.string().trim().min(3).max(320).openapi({ description: "Username or email." }),
  })
  .strict()
  .openapi("ForgotPasswordRequest");

export const ResetPasswordRequestSchema = z
  .object({
    user_id: z.uuid().openapi({ description: "The platform user who must set a new password." }),
  })
  .strict()
  .openapi("ResetPasswordRequest");

export const UserProfileSchema = z
  .object({
    id: z.string(),
    username: z.string(),
    email: z.string(),
    first_name: z.string().nullable(),
    last_name: z.string().nullable(),
    display_name: z.string().nullable(),
    timezone: z.string(),
    locale: z.string(),
    is_active: z.boolean(),
    is_superadmin: z.boolean(),
    last_login_at: z.string().nullable(),
    roles: z.array(z.string()),
    permissions: z.array(z.string()),
    tenants: z
      .array(z.object({ tenant_id: z.string(), access_level: z.string() }))
      .openapi({ description: "Tenants this user may access (filled once tenants exist)." }),
    external: z.object({
      provider: z.literal("keycloak"),
      realm: z.string(),
      user_id: z.string(),
    }),
  })
  .openapi("UserProfile");

export const TokensSchema = z
  .object({
    access_token: z.string(),
    refresh_token: z.string(),
    token_type: z.literal("Bearer"),
    expires_in: z.number().int(),
    refresh_expires_in: z.number().int(),
    session_id: z.string().nullable(),
  })
  .openapi("Tokens");

export const LoginResponseSchema = TokensSchema.extend({ user: UserProfileSchema }).openapi(
  "LoginResponse",
);

export const MessageSchema = z.object({ message: z.string() }).openapi("Message");
