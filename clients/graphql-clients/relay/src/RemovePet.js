// deleteRelation, removing the edge from the relations connection.
import { graphql } from 'relay-runtime';

export const mutation = graphql`
  mutation RemovePetMutation($id: ID!, $connections: [ID!]!) {
    deleteRelation(id: $id) {
      deletedId @deleteEdge(connections: $connections)
    }
  }
`;
