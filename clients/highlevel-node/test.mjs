// Drives the official HighLevel Node SDK (@gohighlevel/api-client, pinned in package-lock.json)
// against a running `relata serve`, unchanged but for the base URL and the token: every
// associations, relations, objects, records and contacts method Relata serves (docs/rest.md,
// "SDK compatibility"). The SDK sends `Version: 2023-02-21` and axios's `associationIds[]=`.
//
//   RELATA_URL=http://127.0.0.1:8000 RELATA_TOKEN=... RELATA_LOCATION=... node test.mjs
// Exits 0 when every check passed; prints the failing one otherwise.
import assert from 'node:assert/strict';
import HighLevelModule from '@gohighlevel/api-client';

const HighLevel = HighLevelModule.HighLevel ?? HighLevelModule.default ?? HighLevelModule;
const url = process.env.RELATA_URL;
const token = process.env.RELATA_TOKEN;
const loc = process.env.RELATA_LOCATION;
assert.ok(url && token && loc, 'set RELATA_URL, RELATA_TOKEN and RELATA_LOCATION');

const ghl = new HighLevel({ privateIntegrationToken: token, logLevel: 'error' });
ghl.httpClient.defaults.baseURL = url; // the only change from the SDK's defaults

const ids = (xs) => xs.map((x) => x.id);
const suffix = Math.random().toString(36).slice(2, 8);

async function objectsRecordsContacts() {
  const { objects, contacts } = ghl;
  const listed = await objects.getObjectByLocationId({ locationId: loc });
  const keys = listed.objects.map((o) => o.key);
  for (const k of ['contact', 'company', 'opportunity']) assert.ok(keys.includes(k), k);
  assert.ok(listed.objects.every((o) => o.dateAdded && o.dateUpdated));

  const key = `custom_objects.dog_${suffix}`;
  const created = await objects.createCustomObjectSchema({
    labels: { singular: 'Dog', plural: 'Dogs' },
    key,
    description: 'Dogs',
    locationId: loc,
    primaryDisplayPropertyDetails: { key: `${key}.name`, name: 'Name', dataType: 'TEXT' },
  });
  assert.equal(created.object.key, key);
  assert.equal(created.object.primaryDisplayProperty, 'name');

  const got = await objects.getObjectSchemaByKey({ key, locationId: loc, fetchProperties: 'true' });
  assert.equal(got.object.id, created.object.id);
  assert.equal(got.cache, false);
  assert.deepEqual(got.fields, []);

  const updated = await objects.updateCustomObject(
    { key },
    { labels: { singular: 'Hound', plural: 'Hounds' }, description: 'Hounds', locationId: loc,
      searchableProperties: [`${key}.name`] },
  );
  assert.deepEqual(updated.object.labels, { singular: 'Hound', plural: 'Hounds' });

  const rex = (await objects.createObjectRecord(
    { schemaKey: key }, { locationId: loc, properties: { name: 'Rex', age: 3 } },
  )).record;
  assert.equal(rex.displayName, 'Rex');
  assert.deepEqual(rex.owner, []);
  assert.deepEqual(rex.followers, []);
  assert.ok(rex.dateAdded && rex.dateUpdated);
  const tom = (await objects.createObjectRecord(
    { schemaKey: key }, { locationId: loc, properties: { name: 'Tom' } },
  )).record;

  const one = await objects.getRecordById({ schemaKey: key, id: rex.id });
  assert.deepEqual(one.record.properties, { name: 'Rex', age: 3 });
  const changed = await objects.updateObjectRecord(
    { schemaKey: key, id: rex.id, locationId: loc }, { properties: { age: 4 } },
  );
  assert.deepEqual(changed.record.properties, { name: 'Rex', age: 4 });

  const found = await objects.searchObjectRecords(
    { schemaKey: key }, { locationId: loc, page: 1, pageLimit: 10, query: 'rex', searchAfter: [] },
  );
  assert.equal(found.total, 1);
  assert.deepEqual(ids(found.records), [rex.id]);
  const first = await objects.searchObjectRecords(
    { schemaKey: key }, { locationId: loc, page: 1, pageLimit: 1, query: '', searchAfter: [] },
  );
  assert.equal(first.total, 2);
  const second = await objects.searchObjectRecords(
    { schemaKey: key },
    { locationId: loc, page: 1, pageLimit: 1, query: '', searchAfter: first.records[0].searchAfter },
  );
  assert.deepEqual(ids(second.records), [tom.id]);

  const deleted = await objects.deleteObjectRecord({ schemaKey: key, id: tom.id });
  assert.equal(deleted.success, true);
  assert.equal(deleted.id, tom.id);

  const ann = (await contacts.createContact({
    firstName: 'Ann', lastName: `Lee${suffix}`, email: 'ann@example.com', locationId: loc,
    customFields: [{ id: 'nickname', value: 'Annie' }],
  })).contact;
  assert.equal(ann.firstName, 'Ann');
  assert.deepEqual(ann.customFields, [{ id: 'nickname', key: 'nickname', value: 'Annie' }]);
  assert.deepEqual((await contacts.getContact({ contactId: ann.id })).contact, ann);
  const upd = await contacts.updateContact({ contactId: ann.id }, { phone: '+15550100' });
  assert.equal(upd.succeded, true);
  assert.equal(upd.contact.phone, '+15550100');
  const search = await contacts.searchContactsAdvanced(
    { locationId: loc, page: 1, pageLimit: 20, query: `lee${suffix}` },
  );
  assert.equal(search.total, 1);
  assert.equal(search.contacts[0].id, ann.id);
  const gone = await contacts.deleteContact({ contactId: ann.id });
  assert.equal(gone.succeded, true);
  await assert.rejects(contacts.getContact({ contactId: ann.id }));
}

async function associationsAndRelations() {
  const { associations: assoc, contacts, objects } = ghl;
  const ann = (await contacts.createContact({ firstName: 'Ann', locationId: loc })).contact;
  const bob = (await contacts.createContact({ firstName: 'Bob', locationId: loc })).contact;
  const acme = (await objects.createObjectRecord(
    { schemaKey: 'company' }, { locationId: loc, properties: { name: 'Acme' } },
  )).record;
  const key = `works_at_${suffix}`;
  const created = await assoc.createAssociation({
    locationId: loc, key, firstObjectLabel: 'Employee', firstObjectKey: 'contact',
    secondObjectLabel: 'Employer', secondObjectKey: 'company',
  });
  assert.equal(created.key, key);
  const aid = created.id;
  assert.equal((await assoc.getAssociationByID({ associationId: aid })).id, aid);
  assert.equal((await assoc.getAssociationKeyByKeyName({ keyName: key, locationId: loc })).id, aid);
  const byObject = await assoc.getAssociationByObjectKeys({ objectKey: 'company', locationId: loc });
  assert.ok(ids(byObject.associations).includes(aid));
  const all = await assoc.findAssociations({ locationId: loc, skip: 0, limit: 100 });
  assert.ok(ids(all.associations).includes(aid));
  const renamed = await assoc.updateAssociation(
    { associationId: aid }, { firstObjectLabel: 'Staff', secondObjectLabel: 'Company' },
  );
  assert.equal(renamed.firstObjectLabel, 'Staff');

  const other = await assoc.createAssociation({
    locationId: loc, key: `client_of_${suffix}`, firstObjectLabel: 'Client',
    firstObjectKey: 'contact', secondObjectLabel: 'Supplier', secondObjectKey: 'company',
  });
  const rel = await assoc.createRelation(
    { locationId: loc, associationId: aid, firstRecordId: ann.id, secondRecordId: acme.id },
  );
  assert.equal(rel.firstRecordId, ann.id);
  const rel2 = await assoc.createRelation(
    { locationId: loc, associationId: other.id, firstRecordId: ann.id, secondRecordId: acme.id },
  );
  await assoc.createRelation(
    { locationId: loc, associationId: aid, firstRecordId: bob.id, secondRecordId: acme.id },
  );
  const every = await assoc.getRelationsByRecordId(
    { recordId: acme.id, locationId: loc, skip: 0, limit: 10 },
  );
  assert.equal(every.total, 3);
  // axios sends associationIds[]=...: the filter must apply.
  const filtered = await assoc.getRelationsByRecordId(
    { recordId: ann.id, locationId: loc, skip: 0, limit: 10, associationIds: [other.id] },
  );
  assert.deepEqual(ids(filtered.relations), [rel2.id]);
  const removed = await assoc.deleteRelation({ relationId: rel2.id, locationId: loc });
  assert.equal(removed.deleted, true);
  const gone = await assoc.deleteAssociation({ associationId: aid });
  assert.equal(gone.deleted, true);
  assert.equal(gone.relationsDeleted, 2);
  const after = await assoc.getRelationsByRecordId(
    { recordId: acme.id, locationId: loc, skip: 0, limit: 10 },
  );
  assert.equal(after.total, 0);
}

try {
  await objectsRecordsContacts();
  await associationsAndRelations();
  console.log('node sdk: all checks passed');
} catch (err) {
  const res = err?.response ?? err?.cause?.response;
  console.error(err?.stack ?? err);
  if (res) console.error('HTTP', res.status, JSON.stringify(res.data));
  process.exit(1);
}
