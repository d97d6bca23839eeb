/// The vault's OpenAPI 3.1 document, served at `GET /openapi.json` and printed by
/// `cardvault openapi`. A test keeps it and the router in step, route for route.
public enum OpenAPIDocument {
    public static let json = #"""
{
 "openapi": "3.1.0",
 "info": {
  "title": "cardvault",
  "version": "1.0.0",
  "description": "PCI-scoped card vault: tokens for PANs, the only builder of Horizonpay card payloads, the only holder of ioka card references. Every /v1 route needs `Authorization: Bearer <client secret>` and the scope named in `x-scope`. A client belongs to one tenant and sees and touches only that tenant's cards and references: another tenant's token is 404 card_not_found everywhere."
 },
 "servers": [
  {
   "url": "http://127.0.0.1:8787"
  }
 ],
 "paths": {
  "/healthz": {
   "get": {
    "summary": "The process is up",
    "tags": [
     "health"
    ],
    "operationId": "healthz",
    "responses": {
     "200": {
      "description": "answer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Status"
        }
       }
      }
     }
    }
   }
  },
  "/readyz": {
   "get": {
    "summary": "Database and keys are usable",
    "tags": [
     "health"
    ],
    "operationId": "readyz",
    "responses": {
     "200": {
      "description": "answer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Status"
        }
       }
      }
     },
     "503": {
      "$ref": "#/components/responses/503"
     }
    }
   }
  },
  "/metrics": {
   "get": {
    "summary": "Prometheus metrics",
    "tags": [
     "health"
    ],
    "responses": {
     "200": {
      "description": "Prometheus text format",
      "content": {
       "text/plain": {
        "schema": {
         "type": "string"
        }
       }
      }
     }
    },
    "operationId": "metrics"
   }
  },
  "/openapi.json": {
   "get": {
    "summary": "This document",
    "tags": [
     "health"
    ],
    "responses": {
     "200": {
      "description": "OpenAPI 3.1",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     }
    },
    "operationId": "openapi"
   }
  },
  "/v1/cards": {
   "post": {
    "summary": "Tokenize a card",
    "tags": [
     "cards"
    ],
    "operationId": "tokenize",
    "description": "201 for a new card, 200 with the existing token when the PAN is already vaulted. Scope `cards:write`. Cards, fingerprints and deduplication are per tenant: the same PAN in two tenants gets two unrelated tokens and fingerprints, both 201.",
    "security": [
     {
      "bearer": []
     }
    ],
    "x-scope": "cards:write",
    "parameters": [
     {
      "name": "Idempotency-Key",
      "in": "header",
      "required": false,
      "schema": {
       "type": "string"
      },
      "description": "1 to 255 visible ASCII characters; a retry returns the first answer"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/CardCreate"
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "answer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/CardMetadata"
        }
       }
      }
     },
     "201": {
      "description": "answer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/CardMetadata"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/400"
     },
     "401": {
      "$ref": "#/components/responses/401"
     },
     "403": {
      "$ref": "#/components/responses/403"
     },
     "413": {
      "$ref": "#/components/responses/413"
     },
     "503": {
      "description": "verification_value_capacity (the guarded security-code store is full; nothing stored), or storage_unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "409": {
      "$ref": "#/components/responses/409"
     },
     "422": {
      "$ref": "#/components/responses/422"
     },
     "429": {
      "description": "rate_limited (over CARDVAULT_TOKENIZE_RATE, with Retry-After) or enumeration_suspected (too many distinct cards with the same first six and last four digits from this client in 24 h; audited, nothing stored)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/v1/cards/{token}": {
   "get": {
    "summary": "Read a token's metadata",
    "tags": [
     "cards"
    ],
    "operationId": "readCard",
    "security": [
     {
      "bearer": []
     }
    ],
    "x-scope": "cards:read",
    "description": "Scope `cards:read`.",
    "parameters": [
     {
      "name": "token",
      "in": "path",
      "required": true,
      "schema": {
       "type": "string"
      },
      "description": "vault token, tok_ and 22 base64url characters"
     }
    ],
    "responses": {
     "200": {
      "description": "answer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/TokenMetadata"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/400"
     },
     "401": {
      "$ref": "#/components/responses/401"
     },
     "403": {
      "$ref": "#/components/responses/403"
     },
     "404": {
      "$ref": "#/components/responses/404"
     },
     "503": {
      "$ref": "#/components/responses/503"
     }
    }
   },
   "patch": {
    "summary": "Update expiry, holder, retention or supply a security code",
    "tags": [
     "cards"
    ],
    "operationId": "updateCard",
    "security": [
     {
      "bearer": []
     }
    ],
    "x-scope": "cards:write",
    "description": "Scope `cards:write`.",
    "parameters": [
     {
      "name": "token",
      "in": "path",
      "required": true,
      "schema": {
       "type": "string"
      },
      "description": "vault token, tok_ and 22 base64url characters"
     },
     {
      "name": "Idempotency-Key",
      "in": "header",
      "required": false,
      "schema": {
       "type": "string"
      },
      "description": "1 to 255 visible ASCII characters; a retry returns the first answer"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/CardUpdate"
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "answer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/CardMetadata"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/400"
     },
     "401": {
      "$ref": "#/components/responses/401"
     },
     "403": {
      "$ref": "#/components/responses/403"
     },
     "413": {
      "$ref": "#/components/responses/413"
     },
     "503": {
      "description": "verification_value_capacity (the guarded security-code store is full; nothing changed), or storage_unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "404": {
      "$ref": "#/components/responses/404"
     },
     "409": {
      "$ref": "#/components/responses/409"
     },
     "422": {
      "$ref": "#/components/responses/422"
     }
    }
   },
   "delete": {
    "summary": "Delete a token (card and references)",
    "tags": [
     "cards"
    ],
    "operationId": "deleteCard",
    "security": [
     {
      "bearer": []
     }
    ],
    "x-scope": "cards:write",
    "description": "Scope `cards:write`.",
    "parameters": [
     {
      "name": "token",
      "in": "path",
      "required": true,
      "schema": {
       "type": "string"
      },
      "description": "vault token, tok_ and 22 base64url characters"
     },
     {
      "name": "Idempotency-Key",
      "in": "header",
      "required": false,
      "schema": {
       "type": "string"
      },
      "description": "1 to 255 visible ASCII characters; a retry returns the first answer"
     }
    ],
    "responses": {
     "204": {
      "description": "no content"
     },
     "400": {
      "$ref": "#/components/responses/400"
     },
     "401": {
      "$ref": "#/components/responses/401"
     },
     "403": {
      "$ref": "#/components/responses/403"
     },
     "404": {
      "$ref": "#/components/responses/404"
     },
     "409": {
      "$ref": "#/components/responses/409"
     },
     "503": {
      "$ref": "#/components/responses/503"
     }
    }
   }
  },
  "/v1/cards/{token}/ioka-card": {
   "put": {
    "summary": "Attach an ioka card_id to a token",
    "tags": [
     "ioka"
    ],
    "operationId": "attachIokaCard",
    "security": [
     {
      "bearer": []
     }
    ],
    "x-scope": "ioka:write",
    "description": "Scope `ioka:write`.",
    "parameters": [
     {
      "name": "token",
      "in": "path",
      "required": true,
      "schema": {
       "type": "string"
      },
      "description": "vault token, tok_ and 22 base64url characters"
     },
     {
      "name": "Idempotency-Key",
      "in": "header",
      "required": false,
      "schema": {
       "type": "string"
      },
      "description": "1 to 255 visible ASCII characters; a retry returns the first answer"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/IokaCardReference"
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "answer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/TokenMetadata"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/400"
     },
     "401": {
      "$ref": "#/components/responses/401"
     },
     "403": {
      "$ref": "#/components/responses/403"
     },
     "413": {
      "$ref": "#/components/responses/413"
     },
     "503": {
      "$ref": "#/components/responses/503"
     },
     "404": {
      "$ref": "#/components/responses/404"
     },
     "409": {
      "$ref": "#/components/responses/409"
     },
     "422": {
      "$ref": "#/components/responses/422"
     }
    }
   }
  },
  "/v1/horizonpay/p2p-restrictions": {
   "post": {
    "summary": "Restriction check (gateway)",
    "tags": [
     "horizonpay"
    ],
    "operationId": "horizonpayRestrictions",
    "description": "Card objects carry vault tokens; the vault builds number, expiry, holder and (transfers) the pending security code, calls Horizonpay and redacts the answer. Scope `horizonpay:forward`.",
    "security": [
     {
      "bearer": []
     }
    ],
    "x-scope": "horizonpay:forward",
    "parameters": [
     {
      "name": "Idempotency-Key",
      "in": "header",
      "required": false,
      "schema": {
       "type": "string"
      },
      "description": "1 to 255 visible ASCII characters; a retry returns the first answer"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/HorizonpayRequest"
       }
      }
     }
    },
    "responses": {
     "default": {
      "description": "Horizonpay's status and body, every card object redacted",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/ProviderAnswer"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Provider400"
     },
     "401": {
      "$ref": "#/components/responses/Provider401"
     },
     "403": {
      "$ref": "#/components/responses/Provider403"
     },
     "413": {
      "$ref": "#/components/responses/Provider413"
     },
     "503": {
      "$ref": "#/components/responses/Provider503"
     },
     "404": {
      "$ref": "#/components/responses/Provider404"
     },
     "409": {
      "$ref": "#/components/responses/Provider409"
     },
     "422": {
      "$ref": "#/components/responses/Provider422"
     },
     "502": {
      "$ref": "#/components/responses/Provider502"
     },
     "504": {
      "$ref": "#/components/responses/Provider504"
     }
    }
   }
  },
  "/v1/horizonpay/p2ps": {
   "post": {
    "summary": "P2P transfer (gateway)",
    "tags": [
     "horizonpay"
    ],
    "operationId": "horizonpayTransfer",
    "description": "Card objects carry vault tokens; the vault builds number, expiry, holder and (transfers) the pending security code, calls Horizonpay and redacts the answer. Scope `horizonpay:forward`.",
    "security": [
     {
      "bearer": []
     }
    ],
    "x-scope": "horizonpay:forward",
    "parameters": [
     {
      "name": "Idempotency-Key",
      "in": "header",
      "required": true,
      "schema": {
       "type": "string"
      },
      "description": "1 to 255 visible ASCII characters; a retry returns the first answer Required here: this route moves money."
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/HorizonpayRequest"
       }
      }
     }
    },
    "responses": {
     "default": {
      "description": "Horizonpay's status and body, every card object redacted",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/ProviderAnswer"
        }
       }
      }
     },
     "400": {
      "description": "malformed_request, or idempotency_key_required: this route moves money and needs an Idempotency-Key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Provider401"
     },
     "403": {
      "$ref": "#/components/responses/Provider403"
     },
     "413": {
      "$ref": "#/components/responses/Provider413"
     },
     "503": {
      "$ref": "#/components/responses/Provider503"
     },
     "404": {
      "$ref": "#/components/responses/Provider404"
     },
     "409": {
      "description": "idempotency_conflict (key used with another request), request_in_flight (the first is still running), or outcome_unknown (the first was sent but its answer was lost: ask the provider by `error.reference` and never resend under this key)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "422": {
      "$ref": "#/components/responses/Provider422"
     },
     "502": {
      "$ref": "#/components/responses/Provider502"
     },
     "504": {
      "$ref": "#/components/responses/Provider504"
     }
    }
   }
  },
  "/v1/horizonpay/checkout/verify-p2p": {
   "post": {
    "summary": "Restriction check (checkout)",
    "tags": [
     "horizonpay"
    ],
    "operationId": "horizonpayCheckoutVerify",
    "description": "Card objects carry vault tokens; the vault builds number, expiry, holder and (transfers) the pending security code, calls Horizonpay and redacts the answer. Scope `horizonpay:forward`.",
    "security": [
     {
      "bearer": []
     }
    ],
    "x-scope": "horizonpay:forward",
    "parameters": [
     {
      "name": "Idempotency-Key",
      "in": "header",
      "required": false,
      "schema": {
       "type": "string"
      },
      "description": "1 to 255 visible ASCII characters; a retry returns the first answer"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/HorizonpayRequest"
       }
      }
     }
    },
    "responses": {
     "default": {
      "description": "Horizonpay's status and body, every card object redacted",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/ProviderAnswer"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Provider400"
     },
     "401": {
      "$ref": "#/components/responses/Provider401"
     },
     "403": {
      "$ref": "#/components/responses/Provider403"
     },
     "413": {
      "$ref": "#/components/responses/Provider413"
     },
     "503": {
      "$ref": "#/components/responses/Provider503"
     },
     "404": {
      "$ref": "#/components/responses/Provider404"
     },
     "409": {
      "$ref": "#/components/responses/Provider409"
     },
     "422": {
      "$ref": "#/components/responses/Provider422"
     },
     "502": {
      "$ref": "#/components/responses/Provider502"
     },
     "504": {
      "$ref": "#/components/responses/Provider504"
     }
    }
   }
  },
  "/v1/horizonpay/checkout/p2p": {
   "post": {
    "summary": "P2P transfer (checkout)",
    "tags": [
     "horizonpay"
    ],
    "operationId": "horizonpayCheckoutTransfer",
    "description": "Card objects carry vault tokens; the vault builds number, expiry, holder and (transfers) the pending security code, calls Horizonpay and redacts the answer. Scope `horizonpay:forward`.",
    "security": [
     {
      "bearer": []
     }
    ],
    "x-scope": "horizonpay:forward",
    "parameters": [
     {
      "name": "Idempotency-Key",
      "in": "header",
      "required": true,
      "schema": {
       "type": "string"
      },
      "description": "1 to 255 visible ASCII characters; a retry returns the first answer Required here: this route moves money."
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/HorizonpayRequest"
       }
      }
     }
    },
    "responses": {
     "default": {
      "description": "Horizonpay's status and body, every card object redacted",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/ProviderAnswer"
        }
       }
      }
     },
     "400": {
      "description": "malformed_request, or idempotency_key_required: this route moves money and needs an Idempotency-Key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Provider401"
     },
     "403": {
      "$ref": "#/components/responses/Provider403"
     },
     "413": {
      "$ref": "#/components/responses/Provider413"
     },
     "503": {
      "$ref": "#/components/responses/Provider503"
     },
     "404": {
      "$ref": "#/components/responses/Provider404"
     },
     "409": {
      "description": "idempotency_conflict (key used with another request), request_in_flight (the first is still running), or outcome_unknown (the first was sent but its answer was lost: ask the provider by `error.reference` and never resend under this key)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "422": {
      "$ref": "#/components/responses/Provider422"
     },
     "502": {
      "$ref": "#/components/responses/Provider502"
     },
     "504": {
      "$ref": "#/components/responses/Provider504"
     }
    }
   }
  },
  "/v1/horizonpay/checkout/async/verify-p2p": {
   "post": {
    "summary": "Async restriction check",
    "tags": [
     "horizonpay"
    ],
    "operationId": "horizonpayAsyncVerify",
    "description": "Card objects carry vault tokens; the vault builds number, expiry, holder and (transfers) the pending security code, calls Horizonpay and redacts the answer. Scope `horizonpay:forward`.",
    "security": [
     {
      "bearer": []
     }
    ],
    "x-scope": "horizonpay:forward",
    "parameters": [
     {
      "name": "Idempotency-Key",
      "in": "header",
      "required": false,
      "schema": {
       "type": "string"
      },
      "description": "1 to 255 visible ASCII characters; a retry returns the first answer"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/HorizonpayRequest"
       }
      }
     }
    },
    "responses": {
     "default": {
      "description": "Horizonpay's status and body, every card object redacted",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/ProviderAnswer"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Provider400"
     },
     "401": {
      "$ref": "#/components/responses/Provider401"
     },
     "403": {
      "$ref": "#/components/responses/Provider403"
     },
     "413": {
      "$ref": "#/components/responses/Provider413"
     },
     "503": {
      "$ref": "#/components/responses/Provider503"
     },
     "404": {
      "$ref": "#/components/responses/Provider404"
     },
     "409": {
      "$ref": "#/components/responses/Provider409"
     },
     "422": {
      "$ref": "#/components/responses/Provider422"
     },
     "502": {
      "$ref": "#/components/responses/Provider502"
     },
     "504": {
      "$ref": "#/components/responses/Provider504"
     }
    }
   }
  },
  "/v1/horizonpay/checkout/async/p2p": {
   "post": {
    "summary": "Async P2P transfer",
    "tags": [
     "horizonpay"
    ],
    "operationId": "horizonpayAsyncTransfer",
    "description": "Card objects carry vault tokens; the vault builds number, expiry, holder and (transfers) the pending security code, calls Horizonpay and redacts the answer. Scope `horizonpay:forward`.",
    "security": [
     {
      "bearer": []
     }
    ],
    "x-scope": "horizonpay:forward",
    "parameters": [
     {
      "name": "Idempotency-Key",
      "in": "header",
      "required": true,
      "schema": {
       "type": "string"
      },
      "description": "1 to 255 visible ASCII characters; a retry returns the first answer Required here: this route moves money."
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/HorizonpayRequest"
       }
      }
     }
    },
    "responses": {
     "default": {
      "description": "Horizonpay's status and body, every card object redacted",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/ProviderAnswer"
        }
       }
      }
     },
     "400": {
      "description": "malformed_request, or idempotency_key_required: this route moves money and needs an Idempotency-Key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Provider401"
     },
     "403": {
      "$ref": "#/components/responses/Provider403"
     },
     "413": {
      "$ref": "#/components/responses/Provider413"
     },
     "503": {
      "$ref": "#/components/responses/Provider503"
     },
     "404": {
      "$ref": "#/components/responses/Provider404"
     },
     "409": {
      "description": "idempotency_conflict (key used with another request), request_in_flight (the first is still running), or outcome_unknown (the first was sent but its answer was lost: ask the provider by `error.reference` and never resend under this key)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "422": {
      "$ref": "#/components/responses/Provider422"
     },
     "502": {
      "$ref": "#/components/responses/Provider502"
     },
     "504": {
      "$ref": "#/components/responses/Provider504"
     }
    }
   }
  },
  "/v1/horizonpay/checkout/async/jobs/{job_id}": {
   "get": {
    "summary": "Async job result",
    "tags": [
     "horizonpay"
    ],
    "operationId": "horizonpayJob",
    "security": [
     {
      "bearer": []
     }
    ],
    "x-scope": "horizonpay:forward",
    "description": "Scope `horizonpay:forward`.",
    "parameters": [
     {
      "name": "job_id",
      "in": "path",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "default": {
      "description": "Horizonpay's status and redacted body",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/ProviderAnswer"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Provider400"
     },
     "401": {
      "$ref": "#/components/responses/Provider401"
     },
     "403": {
      "$ref": "#/components/responses/Provider403"
     },
     "422": {
      "$ref": "#/components/responses/Provider422"
     },
     "502": {
      "$ref": "#/components/responses/Provider502"
     },
     "503": {
      "$ref": "#/components/responses/Provider503"
     },
     "504": {
      "$ref": "#/components/responses/Provider504"
     }
    }
   }
  },
  "/v1/horizonpay/notifications": {
   "post": {
    "summary": "Verify, capture and redact a Horizonpay notification",
    "tags": [
     "horizonpay"
    ],
    "operationId": "horizonpayNotification",
    "security": [
     {
      "bearer": []
     }
    ],
    "x-scope": "horizonpay:notify",
    "description": "Scope `horizonpay:forward`. A notification already processed (same tenant, uid and status) gets the first answer and changes nothing.",
    "parameters": [
     {
      "name": "Content-Signature",
      "in": "header",
      "required": false,
      "schema": {
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object"
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "answer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/ProviderAnswer"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/400"
     },
     "401": {
      "$ref": "#/components/responses/401"
     },
     "403": {
      "$ref": "#/components/responses/403"
     },
     "413": {
      "$ref": "#/components/responses/413"
     },
     "503": {
      "description": "notifications_not_configured (no HORIZONPAY_WEBHOOK_PUBLIC_KEY and unsigned notifications not allowed), or provider_not_configured",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/v1/ioka/cards": {
   "post": {
    "summary": "Register an ioka card_id",
    "tags": [
     "ioka"
    ],
    "operationId": "registerIokaCard",
    "security": [
     {
      "bearer": []
     }
    ],
    "x-scope": "ioka:write",
    "description": "Scope `ioka:write`.",
    "parameters": [
     {
      "name": "Idempotency-Key",
      "in": "header",
      "required": false,
      "schema": {
       "type": "string"
      },
      "description": "1 to 255 visible ASCII characters; a retry returns the first answer"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/IokaCardReference"
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "answer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/TokenMetadata"
        }
       }
      }
     },
     "201": {
      "description": "answer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/TokenMetadata"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/400"
     },
     "401": {
      "$ref": "#/components/responses/401"
     },
     "403": {
      "$ref": "#/components/responses/403"
     },
     "413": {
      "$ref": "#/components/responses/413"
     },
     "503": {
      "$ref": "#/components/responses/503"
     },
     "409": {
      "$ref": "#/components/responses/409"
     },
     "422": {
      "$ref": "#/components/responses/422"
     }
    }
   }
  },
  "/v1/ioka/senders": {
   "post": {
    "summary": "Register an ioka sender_id",
    "tags": [
     "ioka"
    ],
    "operationId": "registerIokaSender",
    "security": [
     {
      "bearer": []
     }
    ],
    "x-scope": "ioka:write",
    "description": "Scope `ioka:write`.",
    "parameters": [
     {
      "name": "Idempotency-Key",
      "in": "header",
      "required": false,
      "schema": {
       "type": "string"
      },
      "description": "1 to 255 visible ASCII characters; a retry returns the first answer"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/IokaSenderReference"
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "answer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/TokenMetadata"
        }
       }
      }
     },
     "201": {
      "description": "answer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/TokenMetadata"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/400"
     },
     "401": {
      "$ref": "#/components/responses/401"
     },
     "403": {
      "$ref": "#/components/responses/403"
     },
     "413": {
      "$ref": "#/components/responses/413"
     },
     "503": {
      "$ref": "#/components/responses/503"
     },
     "409": {
      "$ref": "#/components/responses/409"
     },
     "422": {
      "$ref": "#/components/responses/422"
     }
    }
   }
  },
  "/v1/ioka/transfer-orders": {
   "post": {
    "summary": "Create a transfer order",
    "tags": [
     "ioka"
    ],
    "operationId": "createIokaOrder",
    "security": [
     {
      "bearer": []
     }
    ],
    "x-scope": "ioka:forward",
    "description": "Scope `ioka:forward`.",
    "parameters": [
     {
      "name": "Idempotency-Key",
      "in": "header",
      "required": true,
      "schema": {
       "type": "string"
      },
      "description": "1 to 255 visible ASCII characters; a retry returns the first answer Required here: this route moves money."
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/IokaOrderRequest"
       }
      }
     }
    },
    "responses": {
     "default": {
      "description": "ioka's status and body, every card reference replaced by its vault token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/ProviderAnswer"
        }
       }
      }
     },
     "400": {
      "description": "malformed_request, or idempotency_key_required: this route moves money and needs an Idempotency-Key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Provider401"
     },
     "403": {
      "$ref": "#/components/responses/Provider403"
     },
     "413": {
      "$ref": "#/components/responses/Provider413"
     },
     "503": {
      "$ref": "#/components/responses/Provider503"
     },
     "404": {
      "$ref": "#/components/responses/Provider404"
     },
     "409": {
      "description": "idempotency_conflict (key used with another request), request_in_flight (the first is still running), or outcome_unknown (the first was sent but its answer was lost: ask the provider by `error.reference` and never resend under this key)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "422": {
      "$ref": "#/components/responses/Provider422"
     },
     "502": {
      "$ref": "#/components/responses/Provider502"
     },
     "504": {
      "$ref": "#/components/responses/Provider504"
     }
    }
   }
  },
  "/v1/ioka/transfer-orders/{order_id}": {
   "get": {
    "summary": "Read a transfer order",
    "tags": [
     "ioka"
    ],
    "operationId": "readIokaOrder",
    "security": [
     {
      "bearer": []
     }
    ],
    "x-scope": "ioka:forward",
    "description": "Scope `ioka:forward`.",
    "parameters": [
     {
      "name": "order_id",
      "in": "path",
      "required": true,
      "schema": {
       "type": "string"
      },
      "description": "ioka transfer order id"
     }
    ],
    "responses": {
     "default": {
      "description": "ioka's status and body, every card reference replaced by its vault token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/ProviderAnswer"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Provider400"
     },
     "401": {
      "$ref": "#/components/responses/Provider401"
     },
     "403": {
      "$ref": "#/components/responses/Provider403"
     },
     "422": {
      "$ref": "#/components/responses/Provider422"
     },
     "502": {
      "$ref": "#/components/responses/Provider502"
     },
     "503": {
      "$ref": "#/components/responses/Provider503"
     },
     "504": {
      "$ref": "#/components/responses/Provider504"
     }
    }
   }
  },
  "/v1/ioka/transfer-orders/{order_id}/topup": {
   "post": {
    "summary": "Top up from a saved sender",
    "tags": [
     "ioka"
    ],
    "operationId": "iokaTopup",
    "security": [
     {
      "bearer": []
     }
    ],
    "x-scope": "ioka:forward",
    "description": "Scope `ioka:forward`.",
    "parameters": [
     {
      "name": "order_id",
      "in": "path",
      "required": true,
      "schema": {
       "type": "string"
      },
      "description": "ioka transfer order id"
     },
     {
      "name": "Idempotency-Key",
      "in": "header",
      "required": true,
      "schema": {
       "type": "string"
      },
      "description": "1 to 255 visible ASCII characters; a retry returns the first answer Required here: this route moves money."
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/IokaTopup"
       }
      }
     }
    },
    "responses": {
     "default": {
      "description": "ioka's status and body, every card reference replaced by its vault token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/ProviderAnswer"
        }
       }
      }
     },
     "400": {
      "description": "malformed_request, or idempotency_key_required: this route moves money and needs an Idempotency-Key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Provider401"
     },
     "403": {
      "$ref": "#/components/responses/Provider403"
     },
     "413": {
      "$ref": "#/components/responses/Provider413"
     },
     "503": {
      "$ref": "#/components/responses/Provider503"
     },
     "404": {
      "$ref": "#/components/responses/Provider404"
     },
     "409": {
      "description": "idempotency_conflict (key used with another request), request_in_flight (the first is still running), or outcome_unknown (the first was sent but its answer was lost: ask the provider by `error.reference` and never resend under this key)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "422": {
      "$ref": "#/components/responses/Provider422"
     },
     "502": {
      "$ref": "#/components/responses/Provider502"
     },
     "504": {
      "$ref": "#/components/responses/Provider504"
     }
    }
   }
  },
  "/v1/ioka/events": {
   "post": {
    "summary": "Redact an ioka notification",
    "tags": [
     "ioka"
    ],
    "operationId": "iokaEvent",
    "security": [
     {
      "bearer": []
     }
    ],
    "x-scope": "ioka:events",
    "description": "Scope `ioka:forward`. References are registered only for an order this vault created or read for the caller's tenant.",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object"
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "answer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/ProviderAnswer"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/400"
     },
     "401": {
      "$ref": "#/components/responses/401"
     },
     "403": {
      "$ref": "#/components/responses/403"
     },
     "413": {
      "$ref": "#/components/responses/413"
     },
     "503": {
      "$ref": "#/components/responses/503"
     }
    }
   }
  }
 },
 "components": {
  "securitySchemes": {
   "bearer": {
    "type": "http",
    "scheme": "bearer",
    "description": "client secret (cvs_...) from `cardvault clients add`"
   }
  },
  "schemas": {
   "Status": {
    "type": "object",
    "properties": {
     "status": {
      "type": "string"
     },
     "database": {
      "type": "string"
     },
     "keys": {
      "type": "string"
     }
    },
    "required": [
     "status"
    ]
   },
   "Error": {
    "type": "object",
    "required": [
     "error"
    ],
    "properties": {
     "error": {
      "type": "object",
      "required": [
       "code",
       "message"
      ],
      "properties": {
       "code": {
        "type": "string",
        "description": "stable machine-readable code"
       },
       "message": {
        "type": "string"
       },
       "fields": {
        "type": "array",
        "items": {
         "type": "object",
         "required": [
          "field",
          "code",
          "message"
         ],
         "properties": {
          "field": {
           "type": "string"
          },
          "code": {
           "type": "string"
          },
          "message": {
           "type": "string"
          }
         }
        }
       },
       "reference": {
        "type": "object",
        "additionalProperties": {
         "type": "string"
        },
        "description": "for outcome_unknown: the provider reference the first request was sent with (tracking_id, order_id or external_id)"
       }
      }
     }
    }
   },
   "CardCreate": {
    "type": "object",
    "additionalProperties": false,
    "properties": {
     "number": {
      "type": "string",
      "description": "PAN; spaces and dashes allowed"
     },
     "exp_month": {
      "type": [
       "string",
       "integer"
      ]
     },
     "exp_year": {
      "type": [
       "string",
       "integer"
      ]
     },
     "holder": {
      "type": "string",
      "maxLength": 35
     },
     "verification_value": {
      "type": "string",
      "description": "kept in memory only, never stored"
     },
     "retain_until": {
      "type": "string",
      "description": "RFC 3339 date-time or date"
     }
    }
   },
   "CardUpdate": {
    "type": "object",
    "additionalProperties": false,
    "properties": {
     "exp_month": {
      "type": [
       "string",
       "integer"
      ]
     },
     "exp_year": {
      "type": [
       "string",
       "integer"
      ]
     },
     "holder": {
      "type": "string",
      "maxLength": 35
     },
     "verification_value": {
      "type": "string"
     },
     "retain_until": {
      "type": "string"
     }
    }
   },
   "ReferenceSummary": {
    "type": "object",
    "properties": {
     "card": {
      "type": "object",
      "properties": {
       "pan_masked": {
        "type": "string"
       },
       "expiry_date": {
        "type": "string"
       },
       "payment_system": {
        "type": "string"
       },
       "emitter": {
        "type": "string"
       },
       "customer_id": {
        "type": "string"
       }
      }
     },
     "sender": {
      "type": "object",
      "properties": {
       "pan_masked": {
        "type": "string"
       },
       "expiry_date": {
        "type": "string"
       },
       "payment_system": {
        "type": "string"
       },
       "emitter": {
        "type": "string"
       },
       "customer_id": {
        "type": "string"
       }
      }
     }
    }
   },
   "CardMetadata": {
    "type": "object",
    "required": [
     "token",
     "fingerprint",
     "brand",
     "bin",
     "last_4",
     "masked",
     "exp_month",
     "exp_year",
     "has_card",
     "has_verification_value",
     "ioka_card",
     "ioka_sender",
     "created_at",
     "updated_at"
    ],
    "properties": {
     "token": {
      "type": "string",
      "pattern": "^tok_[A-Za-z0-9_-]{22}$"
     },
     "fingerprint": {
      "type": "string"
     },
     "brand": {
      "type": "string"
     },
     "bin": {
      "type": "string"
     },
     "last_4": {
      "type": "string"
     },
     "masked": {
      "type": "string"
     },
     "exp_month": {
      "type": "string"
     },
     "exp_year": {
      "type": "string"
     },
     "holder": {
      "type": "string"
     },
     "has_card": {
      "type": "boolean"
     },
     "has_verification_value": {
      "type": "boolean"
     },
     "verification_value_expires_at": {
      "type": "string",
      "format": "date-time"
     },
     "ioka_card": {
      "type": "boolean"
     },
     "ioka_sender": {
      "type": "boolean"
     },
     "ioka": {
      "$ref": "#/components/schemas/ReferenceSummary"
     },
     "retain_until": {
      "type": "string",
      "format": "date-time"
     },
     "created_at": {
      "type": "string",
      "format": "date-time"
     },
     "updated_at": {
      "type": "string",
      "format": "date-time"
     }
    }
   },
   "ReferenceMetadata": {
    "type": "object",
    "required": [
     "token",
     "has_card",
     "ioka",
     "ioka_card",
     "ioka_sender",
     "created_at",
     "updated_at"
    ],
    "properties": {
     "token": {
      "type": "string"
     },
     "has_card": {
      "type": "boolean"
     },
     "ioka": {
      "$ref": "#/components/schemas/ReferenceSummary"
     },
     "ioka_card": {
      "type": "boolean"
     },
     "ioka_sender": {
      "type": "boolean"
     },
     "created_at": {
      "type": "string",
      "format": "date-time"
     },
     "updated_at": {
      "type": "string",
      "format": "date-time"
     }
    }
   },
   "TokenMetadata": {
    "anyOf": [
     {
      "$ref": "#/components/schemas/CardMetadata"
     },
     {
      "$ref": "#/components/schemas/ReferenceMetadata"
     }
    ]
   },
   "CardByToken": {
    "type": "object",
    "required": [
     "token"
    ],
    "properties": {
     "token": {
      "type": "string"
     },
     "holder": {
      "type": "string",
      "maxLength": 35
     },
     "use_saved_token": {
      "type": "boolean"
     }
    },
    "additionalProperties": false
   },
   "HorizonpayRequest": {
    "type": "object",
    "required": [
     "request"
    ],
    "properties": {
     "request": {
      "type": "object",
      "properties": {
       "amount": {
        "type": "integer"
       },
       "currency": {
        "type": "string"
       },
       "description": {
        "type": "string"
       },
       "tracking_id": {
        "type": "string"
       },
       "credit_card": {
        "$ref": "#/components/schemas/CardByToken"
       },
       "recipient_card": {
        "$ref": "#/components/schemas/CardByToken"
       }
      }
     }
    }
   },
   "ProviderAnswer": {
    "description": "the provider's JSON, redacted: no PAN, code, stamp, provider token or ioka reference"
   },
   "IokaCardReference": {
    "type": "object",
    "additionalProperties": false,
    "required": [
     "card_id"
    ],
    "properties": {
     "card_id": {
      "type": "string"
     },
     "customer_id": {
      "type": "string"
     },
     "pan_masked": {
      "type": "string"
     },
     "expiry_date": {
      "type": "string"
     },
     "payment_system": {
      "type": "string"
     },
     "emitter": {
      "type": "string"
     }
    }
   },
   "IokaSenderReference": {
    "type": "object",
    "additionalProperties": false,
    "required": [
     "sender_id"
    ],
    "properties": {
     "sender_id": {
      "type": "string"
     },
     "pan_masked": {
      "type": "string"
     },
     "expiry_date": {
      "type": "string"
     },
     "payment_system": {
      "type": "string"
     },
     "emitter": {
      "type": "string"
     }
    }
   },
   "IokaOrderRequest": {
    "type": "object",
    "required": [
     "amount",
     "type",
     "receiver_id"
    ],
    "properties": {
     "amount": {
      "type": "integer"
     },
     "type": {
      "type": "string",
      "enum": [
       "TOPUP"
      ]
     },
     "receiver_id": {
      "type": "string",
      "description": "vault token with an ioka card"
     },
     "external_id": {
      "type": "string"
     },
     "description": {
      "type": "string"
     },
     "extra_info": {
      "type": "object"
     },
     "due_date": {
      "type": "string"
     },
     "back_url": {
      "type": "string"
     },
     "success_url": {
      "type": "string"
     },
     "failure_url": {
      "type": "string"
     }
    }
   },
   "IokaTopup": {
    "type": "object",
    "additionalProperties": false,
    "required": [
     "sender_id"
    ],
    "properties": {
     "sender_id": {
      "type": "string",
      "description": "vault token with an ioka sender"
     }
    }
   }
  },
  "responses": {
   "400": {
    "description": "malformed request: bad JSON, wrong type, unknown field, bad header",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    }
   },
   "401": {
    "description": "missing, unknown, revoked or rotated secret",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    }
   },
   "403": {
    "description": "the client lacks the route's scope",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    }
   },
   "404": {
    "description": "unknown token, order or route",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    }
   },
   "409": {
    "description": "Idempotency-Key reused with another request, still in flight, or a reference registered to another token",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    }
   },
   "413": {
    "description": "body over 64 KiB",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    }
   },
   "422": {
    "description": "invalid input; fields names every offending field",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    }
   },
   "502": {
    "description": "the provider could not be reached, the connection broke, or it answered with a server error or with something that is not JSON",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    }
   },
   "503": {
    "description": "storage or keys unavailable, or the provider not configured",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    }
   },
   "504": {
    "description": "the provider did not answer in time",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    }
   },
   "Provider400": {
    "description": "malformed request: bad JSON, wrong type, unknown field, bad header; or the provider's own answer with this status",
    "content": {
     "application/json": {
      "schema": {
       "anyOf": [
        {
         "$ref": "#/components/schemas/Error"
        },
        {
         "$ref": "#/components/schemas/ProviderAnswer"
        }
       ]
      }
     }
    }
   },
   "Provider401": {
    "description": "missing, unknown, revoked or rotated secret; or the provider's own answer with this status",
    "content": {
     "application/json": {
      "schema": {
       "anyOf": [
        {
         "$ref": "#/components/schemas/Error"
        },
        {
         "$ref": "#/components/schemas/ProviderAnswer"
        }
       ]
      }
     }
    }
   },
   "Provider403": {
    "description": "the client lacks the route's scope; or the provider's own answer with this status",
    "content": {
     "application/json": {
      "schema": {
       "anyOf": [
        {
         "$ref": "#/components/schemas/Error"
        },
        {
         "$ref": "#/components/schemas/ProviderAnswer"
        }
       ]
      }
     }
    }
   },
   "Provider404": {
    "description": "unknown token, order or route; or the provider's own answer with this status",
    "content": {
     "application/json": {
      "schema": {
       "anyOf": [
        {
         "$ref": "#/components/schemas/Error"
        },
        {
         "$ref": "#/components/schemas/ProviderAnswer"
        }
       ]
      }
     }
    }
   },
   "Provider409": {
    "description": "Idempotency-Key reused with another request, still in flight, or a reference registered to another token; or the provider's own answer with this status",
    "content": {
     "application/json": {
      "schema": {
       "anyOf": [
        {
         "$ref": "#/components/schemas/Error"
        },
        {
         "$ref": "#/components/schemas/ProviderAnswer"
        }
       ]
      }
     }
    }
   },
   "Provider413": {
    "description": "body over 64 KiB; or the provider's own answer with this status",
    "content": {
     "application/json": {
      "schema": {
       "anyOf": [
        {
         "$ref": "#/components/schemas/Error"
        },
        {
         "$ref": "#/components/schemas/ProviderAnswer"
        }
       ]
      }
     }
    }
   },
   "Provider422": {
    "description": "invalid input; fields names every offending field; or the provider's own answer with this status",
    "content": {
     "application/json": {
      "schema": {
       "anyOf": [
        {
         "$ref": "#/components/schemas/Error"
        },
        {
         "$ref": "#/components/schemas/ProviderAnswer"
        }
       ]
      }
     }
    }
   },
   "Provider502": {
    "description": "the provider could not be reached, the connection broke, or it answered with a server error or with something that is not JSON; or the provider's own answer with this status",
    "content": {
     "application/json": {
      "schema": {
       "anyOf": [
        {
         "$ref": "#/components/schemas/Error"
        },
        {
         "$ref": "#/components/schemas/ProviderAnswer"
        }
       ]
      }
     }
    }
   },
   "Provider503": {
    "description": "storage or keys unavailable, or the provider not configured; or the provider's own answer with this status",
    "content": {
     "application/json": {
      "schema": {
       "anyOf": [
        {
         "$ref": "#/components/schemas/Error"
        },
        {
         "$ref": "#/components/schemas/ProviderAnswer"
        }
       ]
      }
     }
    }
   },
   "Provider504": {
    "description": "the provider did not answer in time; or the provider's own answer with this status",
    "content": {
     "application/json": {
      "schema": {
       "anyOf": [
        {
         "$ref": "#/components/schemas/Error"
        },
        {
         "$ref": "#/components/schemas/ProviderAnswer"
        }
       ]
      }
     }
    }
   }
  }
 }
}
"""#
}
